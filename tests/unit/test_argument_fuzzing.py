"""Tool arguments fuzzed against each function's JSON Schema.

The schema is the oracle: arguments it accepts must reach the function, correctly typed;
arguments it rejects (and text that is not a JSON object at all) must become a model-visible
`InvalidArguments`, with the function never called. Each function checks its own arguments
against its schema and annotations, so a call with bad arguments fails the test.
"""

from __future__ import annotations

import json
from dataclasses import replace
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal

import jsonschema
import pydantic
from harmony_agent import FunctionTool, ToolErrorKind, tool
from harmony_agent.engines import ScriptedEngine
from harmony_agent.tools import InvalidArguments
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import Field

from tests.fakes import make_agent


class Color(Enum):
    RED = "red"
    GREEN = "green"


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    SUN = "sun"


class Address(pydantic.BaseModel):
    city: Annotated[str, Field(min_length=1)]
    zip: Annotated[str, Field(pattern=r"^[0-9]{5}$")]


class Customer(pydantic.BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=20)]
    address: Address | None = None


class Item(pydantic.BaseModel):
    name: str
    quantity: Annotated[int, Field(ge=1, le=99)]
    price: Annotated[float, Field(ge=0)]


calls: list[tuple[str, dict[str, Any]]] = []


def check(function: FunctionTool, arguments: dict[str, Any]) -> None:
    """What a function asserts about its own arguments before using them."""
    assert function.parameters is not None
    jsonable = pydantic.TypeAdapter(dict[str, Any]).dump_python(arguments, mode="json")
    jsonschema.validate(jsonable, function.parameters)
    calls.append((function.name, arguments))


@tool
def pick(
    color: Color,
    size: Literal["S", "M", "L"],
    count: Annotated[int, Field(ge=1, le=10)] = 1,
) -> str:
    """Picks an item."""
    assert isinstance(color, Color) and size in ("S", "M", "L")
    assert type(count) is int and 1 <= count <= 10
    check(pick, {"color": color, "size": size, "count": count})
    return "picked"


@tool
def measure(
    value: Annotated[float, Field(gt=0, lt=100)],
    tolerance: float | None = None,
    tags: list[str] | None = None,
) -> str:
    """Measures a value."""
    assert isinstance(value, float) and 0 < value < 100
    assert tolerance is None or isinstance(tolerance, float)
    assert tags is None or all(isinstance(tag, str) for tag in tags)
    check(measure, {"value": value, "tolerance": tolerance, "tags": tags})
    return "measured"


@tool
async def order(customer: Customer, items: list[Item], note: str | None = None) -> str:
    """Places an order."""
    assert isinstance(customer, Customer)
    assert customer.address is None or isinstance(customer.address, Address)
    assert all(isinstance(item, Item) and 1 <= item.quantity <= 99 for item in items)
    check(order, {"customer": customer, "items": items, "note": note})
    return "ordered"


@tool
def schedule(
    days: list[Weekday],
    hour: Annotated[int, Field(ge=0, le=23)],
    options: dict[str, bool] | None = None,
) -> str:
    """Schedules a job."""
    assert all(isinstance(day, Weekday) for day in days) and 0 <= hour <= 23
    assert options is None or all(isinstance(v, bool) for v in options.values())
    check(schedule, {"days": days, "hour": hour, "options": options})
    return "scheduled"


@tool
def ping() -> str:
    """Takes no arguments."""
    calls.append(("ping", {}))
    return "pong"


FUNCTIONS = {f.name: f for f in (pick, measure, order, schedule)}

# JSON values: near misses of every field type, and anything at all.
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, 1, 10, 11, 23, 24, 99, 100, -1, 0.0, 1.0, 1.5, 99.9, 100.0, 1e300]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["red", "RED", "green", "S", "M", "XL", "mon", "sun", "12345", "1234"]),
)
json_value = st.recursive(
    json_scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(["name", "city", "zip", "quantity", "price", "address", "x"]),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


def valid_value(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema accepts, built from the schema itself."""
    if "$ref" in schema:
        return valid_value(defs[schema["$ref"].removeprefix("#/$defs/")], defs)
    if "anyOf" in schema:
        return st.one_of([valid_value(option, defs) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.floats(
            schema.get("exclusiveMinimum", schema.get("minimum")),
            schema.get("exclusiveMaximum", schema.get("maximum")),
            exclude_min="exclusiveMinimum" in schema,
            exclude_max="exclusiveMaximum" in schema,
            allow_nan=False,
            allow_infinity=False,
        )
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 12))
    if kind == "array":
        return st.lists(valid_value(schema["items"], defs), max_size=3)
    if kind == "object" and "properties" not in schema:
        extra = schema.get("additionalProperties", {})
        return st.dictionaries(st.text(max_size=5), valid_value(extra, defs), max_size=3)
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    return st.fixed_dictionaries(
        {name: valid_value(properties[name], defs) for name in required},
        optional={
            name: valid_value(sub, defs) for name, sub in properties.items() if name not in required
        },
    )


@st.composite
def candidate(draw: st.DrawFn, function: FunctionTool) -> dict[str, Any]:
    """An arguments object near the schema: valid, or with fields broken, dropped or added."""
    assert function.parameters is not None
    schema = dict(function.parameters)
    arguments: dict[str, Any] = draw(valid_value(schema, schema.get("$defs", {})))
    for name in draw(st.lists(st.sampled_from([*schema["properties"], "extra"]), max_size=2)):
        if draw(st.booleans()):
            arguments[name] = draw(json_value)
        else:
            arguments.pop(name, None)
    return arguments


async def outcome(function: FunctionTool, arguments: str) -> bool:
    """Calls the function as the router does; True when it ran, False when the model was told."""
    calls.clear()
    try:
        await function.call(arguments)
    except InvalidArguments as error:
        assert calls == [], "the function ran although its arguments were invalid"
        assert str(error)
        return False
    assert len(calls) == 1
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(FUNCTIONS)))
async def test_the_schema_decides_whether_the_function_runs(data: st.DataObject, name: str) -> None:
    function = FUNCTIONS[name]
    assert function.parameters is not None
    arguments = data.draw(candidate(function))
    valid = jsonschema.Draft202012Validator(function.parameters).is_valid(arguments)
    event(f"{name}: {'valid' if valid else 'invalid'}")
    assert await outcome(function, json.dumps(arguments)) == valid


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(FUNCTIONS)), arguments=json_value)
async def test_any_json_value_runs_only_when_the_schema_accepts_it(
    name: str, arguments: object
) -> None:
    function = FUNCTIONS[name]
    assert function.parameters is not None
    valid = jsonschema.Draft202012Validator(function.parameters).is_valid(arguments)
    event(f"{name}: {'valid' if valid else 'invalid'}")
    assert await outcome(function, json.dumps(arguments)) == valid


not_json = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            '{"count": NaN}',
            '{"value": Infinity}',
            '{"value": 5, "tolerance": NaN}',
            '{"hour": 1' + "0" * 5000 + "}",
            "[" * 50_000,
            '{"color": "red"}}',
            "{'color': 'red'}",
            '{"color": "red",}',
            "```json\n[1, 2]\n```",
            '"red"',
            "null",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from([*sorted(FUNCTIONS), "ping"]), text=not_json)
async def test_text_that_is_not_an_arguments_object_is_told_to_the_model(
    name: str, text: str
) -> None:
    function = FUNCTIONS.get(name, ping)
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict) and not any(c in text for c in ("NaN", "Infinity")):
        return  # a real object: the tests above cover it
    if function is ping and text.strip() == "":
        assert await outcome(function, text)  # no arguments means {}
        return
    assert not await outcome(function, text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(FUNCTIONS)))
def test_through_the_loop_invalid_arguments_are_a_tool_message(
    data: st.DataObject, name: str
) -> None:
    function = FUNCTIONS[name]
    assert function.parameters is not None
    arguments = data.draw(candidate(function))
    valid = jsonschema.Draft202012Validator(function.parameters).is_valid(arguments)
    body = json.dumps(arguments, ensure_ascii=data.draw(st.booleans()))
    script = [
        f"<|channel|>commentary to=functions.{name} <|constrain|>json<|message|>{body}<|call|>",
        "<|channel|>final<|message|>Done.<|return|>",
    ]
    agent, _ = make_agent([], tools=list(FUNCTIONS.values()))
    calls.clear()
    result = replace(agent, engine=ScriptedEngine(script)).run("Go.")
    (call,) = result.tool_calls
    assert result.ok
    if valid:
        assert call.error is None and len(calls) == 1
    else:
        assert call.error is ToolErrorKind.INVALID_ARGUMENTS and calls == []
        assert call.output.startswith(f"Error: invalid arguments for {name}")
        assert result.messages[2].text == call.output  # what the model read
