"""A client call streams as `tool_calls` deltas; the call the run stops at is completed from
what streamed, or sent whole when it did not stream as it ended.
"""

from __future__ import annotations

import json
from typing import Any

from harmony_agent import Event, MessageDone, TextDelta, ToolCall
from harmony_agent._messages import Message
from harmony_agent.server._call_deltas import CallDeltas

NAMES = frozenset({"get_weather"})


def call(name: str, arguments: str) -> ToolCall:
    return ToolCall("call_1", f"functions.{name}", arguments, "commentary", "json")


def streamed(recipient: str, *fragments: str) -> list[Event]:
    events: list[Event] = [TextDelta(f, "commentary", recipient) for f in fragments]
    return [*events, MessageDone(Message("assistant", "".join(fragments), "commentary", recipient))]


def assembled(deltas: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    """The calls as the openai SDK accumulates them, by index."""
    calls: dict[int, dict[str, str]] = {}
    for delta in deltas:
        current = calls.setdefault(delta["index"], {"id": "", "name": "", "arguments": ""})
        current["id"] += delta.get("id", "")
        current["name"] += delta["function"].get("name", "")
        current["arguments"] += delta["function"]["arguments"]
    return calls


def deltas_of(events: list[Event], pending: ToolCall | None) -> list[dict[str, Any]]:
    calls = CallDeltas(NAMES, "call_x")
    out = [delta for event in events for delta in calls.feed(event)]
    return out + calls.finish(pending)


def test_a_call_streams_its_id_and_name_first_then_its_arguments() -> None:
    events = streamed("functions.get_weather", '{"city":', ' "Paris"}')
    deltas = deltas_of(events, call("get_weather", '{"city": "Paris"}'))
    assert deltas[0] == {
        "index": 0,
        "id": "call_x",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert [d["function"]["arguments"] for d in deltas[1:]] == ['{"city":', ' "Paris"}']


def test_calls_to_other_tools_do_not_stream() -> None:
    events = streamed("functions.convert", '{"value": 1}') + streamed("python", "1 + 1")
    assert deltas_of(events, None) == []


def test_a_call_that_did_not_stream_is_sent_whole() -> None:
    # a recipient the run repaired (channel text glued to the name) streamed under no client name
    events = streamed("functions.get_weather<|channel|>commentary", '{"city": "Oslo"}')
    deltas = deltas_of(events, call("get_weather", '{"city": "Oslo"}'))
    assert assembled(deltas) == {
        0: {"id": "call_x", "name": "get_weather", "arguments": '{"city": "Oslo"}'}
    }


def test_a_rejected_call_keeps_its_index_and_the_next_takes_another() -> None:
    events = streamed("functions.get_weather", '{"town": "Oslo"}')
    events += streamed("functions.get_weather", '{"city": "Oslo"}')
    calls = assembled(deltas_of(events, call("get_weather", '{"city": "Oslo"}')))
    assert [json.loads(c["arguments"]) for c in calls.values()] == [
        {"town": "Oslo"},
        {"city": "Oslo"},
    ]
