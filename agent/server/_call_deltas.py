"""The `tool_calls` deltas of a streamed chat completion: a call to a client function streams
as the model writes it, as OpenAI streams one: a first delta with the call's id, type and name
(and empty arguments), then fragments of its arguments.
"""

from __future__ import annotations

from typing import Any

from harmony_agent import Event, MessageDone, TextDelta, ToolCall

__all__ = ["CallDeltas"]


class CallDeltas:
    """Turns a run's events into `tool_calls` deltas for the calls to `names` (the client
    functions the model may call), each with the id `call_id`, the one the run stops at gets.

    Each call the model starts takes the next index (the run rejects a call to a function
    `tool_choice` does not name, and the model writes another); `finish` completes the call the
    run stopped at, or adds it whole if it was not streamed as it ended.
    """

    def __init__(self, names: frozenset[str], call_id: str) -> None:
        self._names = names
        self._call_id = call_id
        self._index = -1
        self._open = False
        self._name = ""
        self._arguments: list[str] = []

    def feed(self, event: Event) -> list[dict[str, Any]]:
        """The deltas `event` causes."""
        if isinstance(event, MessageDone):
            self._open = False
            return []
        if not isinstance(event, TextDelta) or event.recipient is None:
            return []
        name = event.recipient.removeprefix("functions.")
        if name not in self._names:
            return []
        out: list[dict[str, Any]] = []
        if not self._open:
            self._open, self._name, self._arguments = True, name, []
            out.append(self._start(name))
        self._arguments.append(event.text)
        out.append({"index": self._index, "function": {"arguments": event.text}})
        return out

    def finish(self, call: ToolCall | None) -> list[dict[str, Any]]:
        """What the call the run stopped at still needs: the rest of its arguments, or all of
        it if what streamed last is not its beginning.
        """
        if call is None:
            return []
        name = call.recipient.removeprefix("functions.")
        streamed = "".join(self._arguments)
        if self._index >= 0 and name == self._name and call.arguments.startswith(streamed):
            rest = call.arguments[len(streamed) :]
            return [{"index": self._index, "function": {"arguments": rest}}] if rest else []
        return [
            self._start(name),
            {"index": self._index, "function": {"arguments": call.arguments}},
        ]

    def _start(self, name: str) -> dict[str, Any]:
        self._index += 1
        return {
            "index": self._index,
            "id": self._call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
