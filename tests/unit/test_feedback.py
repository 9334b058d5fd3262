"""Every text the model reads when something went wrong, pinned in one snapshot: a change to
what the model is told shows up here, in review.

Run with UPDATE_SNAPSHOTS=1 to rewrite the snapshot after a deliberate change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pydantic
from harmony_agent import Agent, ToolErrorKind, tool
from harmony_agent.engines import ScriptedEngine
from harmony_agent.tools import _feedback

SNAPSHOT = Path(__file__).parent / "snapshots" / "feedback.txt"

TEXTS = {
    "call_cut_off": _feedback.call_cut_off(),
    "unaddressed_call": _feedback.unaddressed_call(["functions.get_weather", "python"]),
    "unaddressed_call, no tools": _feedback.unaddressed_call([]),
    "no_such_tool": _feedback.no_such_tool("functions.nope", ["functions.get_weather"]),
    "answer_before_required_call": _feedback.answer_before_required_call("a tool"),
    "required_call_first": _feedback.required_call_first("functions.get_weather"),
    "invalid_answer": _feedback.invalid_answer("'unit' is a required property", "Weather"),
    "tool_timed_out": _feedback.tool_timed_out("python", 120.0),
    "tool_raised": _feedback.tool_raised("functions.f", KeyError("city")),
    "result_elided": _feedback.result_elided("python", 1234),
    "mcp_server_restarted": _feedback.mcp_server_restarted("time"),
    "mcp_server_down": _feedback.mcp_server_down("time"),
    "invalid_arguments": _feedback.invalid_arguments(
        "get_weather",
        [("city", "1 is not of type 'string'"), ("", "'unit' is a required property")]
        + [(f"x{i}", "wrong") for i in range(3)],
        "Call it again with arguments that match its schema.",
    ),
    "takes_no_arguments": _feedback.takes_no_arguments("now"),
    "not_json": _feedback.not_json("Expecting value", 1, 2),
    "json_too_deep": _feedback.json_too_deep(),
    "json_unusable": _feedback.json_unusable(ValueError("too many digits")),
    "json_not_a_number": _feedback.json_not_a_number("NaN"),
    "text_after_json": _feedback.text_after_json(),
    "not_an_object": _feedback.not_an_object("list"),
}


def rendered() -> str:
    return "".join(f"== {name}\n{text}\n" for name, text in TEXTS.items())


def test_what_the_model_is_told_matches_the_snapshot() -> None:
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(rendered(), encoding="utf-8")
    assert rendered() == SNAPSHOT.read_text(encoding="utf-8")


def test_every_feedback_text_is_in_the_snapshot() -> None:
    texts = {name for name in _feedback.__all__ if name != "MAX_PROBLEMS_SHOWN"}
    assert texts - {"tool_error"} == {name.split(",")[0] for name in TEXTS}


class Price(pydantic.BaseModel):
    """A price filter."""

    amount: float

    @pydantic.field_validator("amount")
    @classmethod
    def positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be positive")
        return value


@tool
def find_products(price: Price) -> str:
    """Finds products.

    Args:
        price: Price filter.
    """
    return "none"


def test_pydantic_errors_are_said_like_schema_errors() -> None:
    call = '<|channel|>commentary to=functions.find_products <|constrain|>json<|message|>{"price": {"amount": -1}}<|call|>'
    engine = ScriptedEngine([call, "<|channel|>final<|message|>Sorry.<|return|>"])
    result = Agent(engine=engine, tools=[find_products], reasoning="low").run("Cheap things?")
    (outcome,) = result.tool_calls
    assert outcome.output == (
        "Error: invalid arguments for find_products: price/amount: Value error, must be "
        "positive. Call it again with arguments that match its schema."
    )


@tool
def flaky_lookup(city: str) -> str:
    """Looks a city up in a service that times out."""
    raise TimeoutError("the weather service did not answer")


def test_a_tools_own_timeout_is_an_exception_not_a_stopped_call() -> None:
    call = '<|channel|>commentary to=functions.flaky_lookup <|constrain|>json<|message|>{"city": "Oslo"}<|call|>'
    engine = ScriptedEngine([call, "<|channel|>final<|message|>Sorry.<|return|>"])
    agent = Agent(engine=engine, tools=[flaky_lookup], reasoning="low", tool_timeout=None)
    (outcome,) = agent.run("Weather in Oslo?").tool_calls
    assert outcome.error is ToolErrorKind.EXCEPTION
    assert outcome.output == (
        "Error: functions.flaky_lookup raised TimeoutError: the weather service did not answer"
    )
