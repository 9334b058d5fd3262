"""Output items from a run's events: a message that streamed no text (a repaired answer, a
call's reasoning) is added complete; streamed text closes into the same item."""

from __future__ import annotations

from harmony_agent import MessageDone, TextDelta
from harmony_agent._messages import Message
from harmony_agent.server._output_items import OutputItems


def test_a_message_without_deltas_is_added_complete() -> None:
    items = OutputItems(set(), "call_1")
    events = items.feed(MessageDone(Message("assistant", "It is 21 °C.", "final")))
    assert [e["type"] for e in events] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ]
    assert items.items[0]["content"][0]["text"] == "It is 21 °C."


def test_streamed_reasoning_closes_into_its_item() -> None:
    items = OutputItems(set(), "call_1")
    items.feed(TextDelta("Comp", "analysis"))
    items.feed(TextDelta("ute.", "analysis"))
    items.feed(TextDelta("print(2*3)", "analysis", "python"))
    done = items.feed(MessageDone(Message("assistant", "Compute.", "analysis")))
    items.feed(MessageDone(Message("assistant", "print(2*3)", "analysis", "python")))
    ran = items.feed(MessageDone(Message("python", "6", "analysis", "assistant")))
    assert done[-1]["item"]["content"] == [{"type": "reasoning_text", "text": "Compute."}]
    assert [item["type"] for item in items.items] == ["reasoning", "code_interpreter_call"]
    assert ran[-1]["item"]["outputs"] == [{"type": "logs", "logs": "6"}]
