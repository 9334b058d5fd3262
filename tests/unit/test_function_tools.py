"""Function tools: schemas from signatures, validation, errors the model can act on."""

from __future__ import annotations

import asyncio
import threading
from enum import Enum
from typing import Any, Literal

import pydantic
import pytest
from harmony_agent import ConfigError, FunctionTool, StopReason, ToolError, ToolErrorKind, tool
from harmony_agent.tools import InvalidArguments
from harmony_agent.tools._docstring import parse_docstring

from tests.fakes import make_agent


class Unit(Enum):
    C = "celsius"
    F = "fahrenheit"


class Window(pydantic.BaseModel):
    start: str
    days: int = 3


@tool
def forecast(
    city: str,
    days: int,
    scale: float = 1.0,
    detailed: bool = False,
    unit: Unit = Unit.C,
    mode: Literal["fast", "slow"] = "fast",
    tags: list[str] | None = None,
    extra: dict[str, int] | None = None,
    window: Window | None = None,
) -> dict[str, Any]:
    """Forecasts the weather.

    Longer explanation that the model also sees.

    Args:
        city: The city.
        days: Number of days,
            counted from today.
        scale: A factor.
        detailed: Whether to add details.
        unit: Unit of the temperatures.
        mode: How hard to try.
        tags: Free tags.
        extra: Extra numbers.
        window: A time window.

    Returns:
        The forecast.
    """
    return {
        "city": city,
        "days": days,
        "scale": scale,
        "detailed": detailed,
        "unit": unit.value,
        "mode": mode,
        "tags": tags,
        "extra": extra,
        "window": None if window is None else window.model_dump(),
        "window_type": type(window).__name__,
    }


def test_schema_from_signature_and_docstring() -> None:
    assert forecast.name == "forecast"
    assert (
        forecast.description
        == "Forecasts the weather.\n\nLonger explanation that the model also sees."
    )
    schema = forecast.parameters
    assert schema is not None
    properties = schema["properties"]
    assert schema["required"] == ["city", "days"]
    assert properties["city"] == {"description": "The city.", "title": "City", "type": "string"}
    assert properties["days"]["type"] == "integer"
    assert properties["days"]["description"] == "Number of days, counted from today."
    assert properties["scale"]["type"] == "number"
    assert properties["detailed"]["type"] == "boolean"
    assert properties["mode"]["enum"] == ["fast", "slow"]
    assert properties["unit"]["$ref"] == "#/$defs/Unit"
    assert schema["$defs"]["Unit"]["enum"] == ["celsius", "fahrenheit"]
    assert properties["tags"]["anyOf"][0] == {"items": {"type": "string"}, "type": "array"}
    assert properties["extra"]["anyOf"][0]["additionalProperties"] == {"type": "integer"}
    assert schema["$defs"]["Window"]["required"] == ["start"]


async def test_arguments_are_coerced_into_python_types() -> None:
    output = await forecast.call(
        '{"city": "Oslo", "days": 2, "unit": "fahrenheit", "window": {"start": "mon"}, "tags": ["a"]}'
    )
    assert output.text == (
        '{"city":"Oslo","days":2,"scale":1.0,"detailed":false,"unit":"fahrenheit","mode":"fast",'
        '"tags":["a"],"extra":null,"window":{"start":"mon","days":3},"window_type":"Window"}'
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('{"city": "Oslo"}', "arguments: 'days' is a required property"),
        ('{"city": "Oslo", "days": "two"}', "days: 'two' is not of type 'integer'"),
        (
            '{"city": "Oslo", "days": 1, "mode": "medium"}',
            "mode: 'medium' is not one of ['fast', 'slow']",
        ),
        ('{"city": "Oslo", "days": 1, "window": {"days": 1}}', "window: {'days': 1} is not valid"),
        ('{"city": 1, "days": "x"}', "city: 1 is not of type 'string'; days: 'x' is not of type"),
        ("[1, 2]", "the arguments must be a JSON object, not list"),
        ('{"city": "Oslo", "days": 1} trailing', "text after the JSON object"),
        (
            '{"city": "Oslo", "days": 1',
            "not valid JSON (Expecting ',' delimiter at line 1 column 27)",
        ),
    ],
)
async def test_invalid_arguments_explain_what_is_wrong(arguments: str, message: str) -> None:
    with pytest.raises(InvalidArguments) as raised:
        await forecast.call(arguments)
    assert message in str(raised.value)


async def test_code_fences_and_empty_arguments() -> None:
    @tool
    def ping() -> str:
        """Pings."""
        return "pong"

    assert ping.parameters is None
    assert (await ping.call("")).text == "pong"
    assert (await ping.call("{}")).text == "pong"
    with pytest.raises(InvalidArguments, match="takes no arguments"):
        await ping.call('{"x": 1}')
    assert (await forecast.call('```json\n{"city": "A", "days": 1}\n```')).text.startswith(
        '{"city":"A"'
    )


async def test_sync_handlers_run_in_a_thread_and_async_ones_on_the_loop() -> None:
    threads: list[str] = []

    @tool
    def sync_tool() -> str:
        """Sync."""
        threads.append(threading.current_thread().name)
        return "s"

    @tool
    async def async_tool() -> str:
        """Async."""
        threads.append(threading.current_thread().name)
        return "a"

    await sync_tool.call("{}")
    await async_tool.call("{}")
    assert threads[0] != threading.main_thread().name
    assert threads[1] == threading.main_thread().name


async def test_return_values_are_rendered_for_the_model() -> None:
    values: list[object] = [{"a": 1}, [1, "x"], Window(start="mon"), None, 3.5, "plain"]
    rendered = []
    for value in values:
        handler = FunctionTool(
            name="f", description="", parameters=None, handler=lambda value=value: value
        )
        rendered.append((await handler.call("")).text)
    assert rendered == ['{"a":1}', '[1,"x"]', '{"start":"mon","days":3}', "null", "3.5", "plain"]


async def test_hand_written_schema() -> None:
    def lookup(sku: str, warehouse: str = "main") -> str:
        return f"{sku}@{warehouse}"

    function = FunctionTool(
        name="lookup",
        description="Looks up stock.",
        parameters={
            "type": "object",
            "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-\\d+$"}},
            "required": ["sku"],
        },
        handler=lookup,
    )
    assert (await function.call('{"sku": "ABC-1"}')).text == "ABC-1@main"
    with pytest.raises(InvalidArguments, match="does not match"):
        await function.call('{"sku": "abc"}')


def test_bad_definitions_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="needs a type annotation"):
        tool(lambda x: x)
    with pytest.raises(ConfigError, match="regular or keyword-only"):

        @tool
        def varargs(*items: int) -> None:
            """Bad."""

    with pytest.raises(ConfigError, match="invalid JSON Schema"):
        FunctionTool(name="f", description="", parameters={"type": 3}, handler=print)
    with pytest.raises(ConfigError, match="of type 'object'"):
        FunctionTool(name="f", description="", parameters={"type": "string"}, handler=print)
    with pytest.raises(ConfigError, match="identifier"):
        FunctionTool(name="a b", description="", parameters=None, handler=print)


def test_docstring_parsing() -> None:
    doc = parse_docstring(
        """Summary line.

        Args:
            first (int): The first
                one, continued.
            *rest: The others.

        Raises:
            ValueError: never.
        """
    )
    assert doc.description == "Summary line."
    assert doc.arguments == {"first": "The first one, continued.", "rest": "The others."}


CALL = "<|channel|>commentary to=functions.{name} <|constrain|>json<|message|>{args}<|call|>"
FINAL = "<|channel|>final<|message|>Done.<|return|>"


def test_tool_errors_go_back_to_the_model_and_are_recorded() -> None:
    @tool
    def refuse(city: str) -> str:
        """Refuses."""
        raise ToolError(f"no data for {city}; try a capital city")

    @tool
    def crash() -> str:
        """Crashes."""
        raise RuntimeError("database is down")

    @tool(timeout=0.05)
    async def slow() -> str:
        """Sleeps."""
        await asyncio.sleep(5)
        return "late"

    agent, engine = make_agent(
        [
            CALL.format(name="refuse", args='{"city": "X"}'),
            CALL.format(name="crash", args="{}"),
            CALL.format(name="slow", args="{}"),
            FINAL,
        ],
        tools=[refuse, crash, slow],
    )
    result = agent.run("go")
    outcomes = [(r.error, r.output) for r in result.tool_calls]
    assert outcomes == [
        (ToolErrorKind.TOOL_ERROR, "Error: no data for X; try a capital city"),
        (ToolErrorKind.EXCEPTION, "Error: functions.crash raised RuntimeError: database is down"),
        (
            ToolErrorKind.TIMEOUT,
            "Error: functions.slow did not finish within 0.05 s and was stopped.",
        ),
    ]
    traceback = result.tool_calls[1].traceback
    assert traceback is not None and "database is down" in traceback
    assert result.stop_reason is StopReason.FINAL
    engine.assert_consumed()


def test_errors_beyond_the_budget_stop_the_run() -> None:
    bad = CALL.format(name="get_weather", args='{"town": "Paris"}')
    agent, engine = make_agent([bad, bad, bad], max_model_errors=2)
    result = agent.run("Weather?")
    assert result.stop_reason is StopReason.ERROR_BUDGET
    assert [r.error for r in result.tool_calls] == [ToolErrorKind.INVALID_ARGUMENTS] * 3
    assert "'city' is a required property" in result.tool_calls[0].output
    engine.assert_consumed()


async def test_blocked_sync_tools_leave_the_default_executor_free() -> None:
    """Sync tools that hang (past any timeout) must not starve the loop's default executor,
    which asyncio also uses for DNS resolution (`loop.getaddrinfo`)."""
    release = threading.Event()

    @tool
    def stuck() -> str:
        """Blocks until released."""
        release.wait(10)
        return "released"

    calls = [asyncio.create_task(stuck.call("{}")) for _ in range(40)]
    await asyncio.sleep(0.2)  # every call is blocked in its handler by now
    try:
        loop = asyncio.get_running_loop()
        assert await asyncio.wait_for(loop.run_in_executor(None, lambda: "free"), 2) == "free"
    finally:
        release.set()
    assert [output.text for output in await asyncio.gather(*calls)] == ["released"] * 40
