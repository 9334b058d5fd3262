"""A run's output as Responses API items, built from its events as they happen: the items of
a non-streamed response, and the stream's item events (`response.output_item.added`, the text
and argument deltas, `response.output_item.done`) for a streamed one.

Kinds: the model's reasoning is a `reasoning` item, its answer a `message`, a call to a
client function a `function_call` (the response ends there), and each call the server ran an
item of its tool's kind: `code_interpreter_call` (python), `web_search_call` (browser),
`mcp_call` (the config's functions).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from harmony_agent._events import Event, MessageDone, RunFinished, TextDelta
from harmony_agent._messages import Message

__all__ = ["OutputItems", "new_id"]

SERVER_LABEL = "harmony-agent"


def new_id(prefix: str) -> str:
    """A fresh id such as `msg_3f9c...`."""
    return f"{prefix}_{secrets.token_hex(16)}"


@dataclass
class _Open:
    """An item whose text is still streaming."""

    index: int
    kind: str
    recipient: str | None
    text: list[str] = field(default_factory=list)


class OutputItems:
    """Turns a run's events into output items; `feed` returns the stream events each one
    causes (without `sequence_number`). `client_functions` are the names the client runs;
    `call_id` is the id the client call the run may stop at gets.
    """

    def __init__(self, client_functions: set[str], call_id: str) -> None:
        self.items: list[dict[str, Any]] = []
        self._client = client_functions
        self._call_id = call_id
        self._open: list[_Open] = []
        self._call: Message | None = None

    def feed(self, event: Event) -> list[dict[str, Any]]:
        """The stream events `event` causes."""
        match event:
            case TextDelta(text=text, channel=channel, recipient=recipient):
                return self._delta(text, self._kind(channel, recipient), recipient)
            case MessageDone(message=message):
                return self._message(message)
            case RunFinished(result=result):
                out: list[dict[str, Any]] = []
                if result.pending_call is not None:
                    call = result.pending_call
                    name = call.recipient.removeprefix("functions.")
                    out += self._finish("function_call", call.arguments, name=name)
                for _ in list(self._open):
                    out += self._close(self._open[0], None)
                return out
            case _:
                return []

    def _kind(self, channel: str | None, recipient: str | None) -> str | None:
        if recipient is None:
            return "message" if channel == "final" else "reasoning"
        name = recipient.removeprefix("functions.")
        return "function_call" if name in self._client else None

    def _delta(self, text: str, kind: str | None, recipient: str | None) -> list[dict[str, Any]]:
        if kind is None:
            return []
        out: list[dict[str, Any]] = []
        current = self._open[-1] if self._open else None
        if current is None or current.kind != kind or current.recipient != recipient:
            name = (recipient or "").removeprefix("functions.")
            current = _Open(len(self.items), kind, recipient)
            self._open.append(current)
            self.items.append(_skeleton(kind, name, self._call_id))
            out += _added(current.index, self.items[current.index])
        current.text.append(text)
        item = self.items[current.index]
        base = {"item_id": item["id"], "output_index": current.index}
        if kind == "function_call":
            out.append({"type": "response.function_call_arguments.delta", **base, "delta": text})
        elif kind == "message":
            out.append(
                {
                    "type": "response.output_text.delta",
                    **base,
                    "content_index": 0,
                    "delta": text,
                    "logprobs": [],
                }
            )
        else:
            out.append(
                {"type": "response.reasoning_text.delta", **base, "content_index": 0, "delta": text}
            )
        return out

    def _message(self, message: Message) -> list[dict[str, Any]]:
        if message.role == "user":
            return []
        if message.role == "tool":
            call, self._call = self._call, None
            return self._tool_item(call, message) if call is not None else []
        if message.recipient is not None:
            self._call = message
            return []
        kind = "message" if message.channel == "final" else "reasoning"
        return self._finish(kind, message.text)

    def _finish(self, kind: str, text: str, *, name: str = "") -> list[dict[str, Any]]:
        """Completes the first streaming item (with `text`, if it is of `kind`), or adds a
        complete one.
        """
        out: list[dict[str, Any]] = []
        while self._open:
            current = self._open[0]
            if current.kind == kind:
                return out + self._close(current, text)
            out += self._close(current, None)
        current = _Open(len(self.items), kind, None)
        self._open.append(current)
        self.items.append(_skeleton(kind, name, self._call_id))
        out += _added(current.index, self.items[current.index])
        return out + self._close(current, text)

    def _close(self, current: _Open, text: str | None) -> list[dict[str, Any]]:
        self._open.remove(current)
        final = "".join(current.text) if text is None else text
        item = self.items[current.index]
        base = {"item_id": item["id"], "output_index": current.index}
        out: list[dict[str, Any]] = []
        if current.kind == "function_call":
            item["arguments"] = final
            item["status"] = "completed"
            out.append(
                {
                    "type": "response.function_call_arguments.done",
                    **base,
                    "arguments": final,
                    "name": item["name"],
                }
            )
        elif current.kind == "message":
            part = {"type": "output_text", "text": final, "annotations": [], "logprobs": []}
            item["content"] = [part]
            item["status"] = "completed"
            out += [
                {
                    "type": "response.output_text.done",
                    **base,
                    "content_index": 0,
                    "text": final,
                    "logprobs": [],
                },
                {"type": "response.content_part.done", **base, "content_index": 0, "part": part},
            ]
        else:
            item["content"] = [{"type": "reasoning_text", "text": final}]
            out.append(
                {"type": "response.reasoning_text.done", **base, "content_index": 0, "text": final}
            )
        out.append(
            {"type": "response.output_item.done", "output_index": current.index, "item": item}
        )
        return out

    def _tool_item(self, call: Message, result: Message) -> list[dict[str, Any]]:
        """The item of a call the server ran, added complete."""
        index = len(self.items)
        item = _server_call(call, result)
        self.items.append(item)
        return [
            {"type": "response.output_item.added", "output_index": index, "item": item},
            {"type": "response.output_item.done", "output_index": index, "item": item},
        ]


def _skeleton(kind: str, name: str, call_id: str) -> dict[str, Any]:
    if kind == "function_call":
        return {
            "id": new_id("fc"),
            "type": "function_call",
            "call_id": call_id,
            "name": name,
            "arguments": "",
            "status": "in_progress",
        }
    if kind == "message":
        return {
            "id": new_id("msg"),
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
    return {"id": new_id("rs"), "type": "reasoning", "summary": [], "content": []}


def _added(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    out = [{"type": "response.output_item.added", "output_index": index, "item": dict(item)}]
    if item["type"] == "message":
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        out.append(
            {
                "type": "response.content_part.added",
                "item_id": item["id"],
                "output_index": index,
                "content_index": 0,
                "part": part,
            }
        )
    return out


def _server_call(call: Message, result: Message) -> dict[str, Any]:
    """A server-side call as the item of its tool's kind."""
    recipient = call.recipient or ""
    namespace, _, function = recipient.partition(".")
    if namespace == "python":
        return {
            "id": new_id("ci"),
            "type": "code_interpreter_call",
            "code": call.text,
            "container_id": SERVER_LABEL,
            "outputs": [{"type": "logs", "logs": result.text}],
            "status": "completed",
        }
    if namespace == "browser":
        return {
            "id": new_id("ws"),
            "type": "web_search_call",
            "status": "completed",
            "action": _browser_action(function, call.text),
        }
    return {
        "id": new_id("mcp"),
        "type": "mcp_call",
        "server_label": SERVER_LABEL,
        "name": function or recipient,
        "arguments": call.text,
        "output": result.text,
        "error": None,
        "status": "completed",
    }


def _browser_action(function: str, arguments: str) -> dict[str, Any]:
    try:
        values = json.loads(arguments)
    except ValueError:
        values = {}
    if not isinstance(values, dict):
        values = {}
    if function == "open":
        target = values.get("id", values.get("cursor", ""))
        return {"type": "open_page", "url": str(target)}
    if function == "find":
        return {"type": "find", "pattern": str(values.get("pattern", "")), "url": ""}
    return {"type": "search", "query": str(values.get("query", ""))}
