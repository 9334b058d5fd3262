"""A conversation a client sends, turned into what a run continues: a token-exact history and
the run's opening (a user prompt, or the output of the client call the history ends with).

Clients replay a conversation as messages, calls and outputs, and many drop the model's
reasoning. Wherever a replayed call or answer is one the server generated, its recorded
segment (the exact tokens of that generation, reasoning and server-side tool calls included)
takes its place, so the model reads what it wrote and the engine's prefix cache hits. Calls
are found by their call id; answers by a hash of the tokens before them and their text.
Anything else is rendered from its text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from harmony_agent import _harmony
from harmony_agent._history import Entry, History
from harmony_agent._messages import Message
from harmony_agent._result import CallOutput, RunResult, StopReason
from harmony_agent.server._errors import bad_request

__all__ = [
    "AssistantText",
    "FunctionCall",
    "FunctionOutput",
    "Item",
    "Opening",
    "Reasoning",
    "UserText",
    "answer_key",
    "call_key",
    "continue_conversation",
    "reasoning_tokens",
    "run_entries",
    "segments",
]


@dataclass(frozen=True)
class UserText:
    """A user's message."""

    text: str
    param: str


@dataclass(frozen=True)
class AssistantText:
    """An answer the model gave."""

    text: str
    param: str


@dataclass(frozen=True)
class Reasoning:
    """The model's chain of thought, as a client sent it back."""

    text: str
    param: str


@dataclass(frozen=True)
class FunctionCall:
    """A call to a client function the model made."""

    call_id: str
    name: str
    arguments: str
    param: str


@dataclass(frozen=True)
class FunctionOutput:
    """The output of a client function call."""

    call_id: str
    output: str
    param: str


Item = UserText | AssistantText | Reasoning | FunctionCall | FunctionOutput
Opening = str | CallOutput
Lookup = Callable[[str], Awaitable[tuple[Entry, ...] | None]]


def call_key(call_id: str) -> str:
    """The key of the segment a client call ended."""
    return f"call:{call_id}"


def answer_key(before: Sequence[Entry], text: str) -> str:
    """The key of the segment an answer ended: a hash of the tokens before it and its text."""
    digest = hashlib.sha256()
    for entry in before:
        digest.update(b"".join(t.to_bytes(4, "little") for t in entry.tokens))
    digest.update(b"\xff" + text.encode())
    return f"answer:{digest.hexdigest()}"


async def continue_conversation(
    base: History,
    items: Sequence[Item],
    *,
    known_calls: dict[str, Entry],
    lookup: Lookup,
    max_output_tokens: int,
) -> tuple[History, Opening]:
    """The history that `items` extend `base` to, and the opening of the run that follows
    them (the last item: a user message or a function call's output). `known_calls` maps the
    ids of calls already in `base` to their entries.
    """
    if not items or not isinstance(items[-1], UserText | FunctionOutput):
        param = items[-1].param if items else "input"
        raise bad_request(
            param, "the input must end with a user message or a function call's output"
        )
    builder = _Builder(list(base.entries), dict(known_calls), lookup, max_output_tokens)
    for item in items[:-1]:
        await builder.add(item)
    last = items[-1]
    builder.flush_reasoning()
    if isinstance(last, UserText):
        return History(tuple(builder.entries)), last.text
    call = builder.calls.get(last.call_id)
    if call is None or not builder.entries or builder.entries[-1] is not call:
        raise bad_request(
            f"{last.param}.call_id",
            f"{last.call_id!r} is not the call the conversation stopped at",
        )
    return History(tuple(builder.entries)), CallOutput(last.output)


class _Builder:
    def __init__(
        self, entries: list[Entry], calls: dict[str, Entry], lookup: Lookup, max_output: int
    ) -> None:
        self.entries = entries
        self.calls = calls
        self._lookup = lookup
        self._max_output = max_output
        self._reasoning: list[Reasoning] = []

    async def add(self, item: Item) -> None:
        match item:
            case UserText(text=text):
                self.flush_reasoning()
                self.entries = list(History(tuple(self.entries)).for_next_turn().entries)
                self.entries.append(Entry(Message("user", text), tuple(_harmony.render_user(text))))
            case Reasoning():
                self._reasoning.append(item)
            case FunctionCall():
                await self._add_call(item)
            case FunctionOutput():
                self._add_output(item)
            case AssistantText(text=text):
                segment = await self._lookup(answer_key(self.entries, text))
                if segment and segment[-1].message.text == text:
                    self._reasoning.clear()
                    self.entries.extend(segment)
                else:
                    self.flush_reasoning()
                    tokens = _harmony.render_assistant(
                        channel="final", recipient=None, content_type=None, text=text
                    )
                    self.entries.append(Entry(Message("assistant", text, "final"), tuple(tokens)))

    def flush_reasoning(self) -> None:
        """Renders the reasoning items sent back that no recorded segment covers."""
        for item in self._reasoning:
            if item.text.strip():
                tokens = _harmony.render_assistant(
                    channel="analysis", recipient=None, content_type=None, text=item.text
                )
                self.entries.append(
                    Entry(Message("assistant", item.text, "analysis"), tuple(tokens))
                )
        self._reasoning.clear()

    async def _add_call(self, item: FunctionCall) -> None:
        if item.call_id in self.calls:
            raise bad_request(f"{item.param}.call_id", f"the call id {item.call_id!r} repeats")
        recipient = f"functions.{item.name}"
        segment = await self._lookup(call_key(item.call_id))
        if segment and segment[-1].message.recipient == recipient:
            self._reasoning.clear()
            self.entries.extend(segment)
        else:
            self.flush_reasoning()
            content_type = "<|constrain|>json"
            tokens = _harmony.render_assistant(
                channel="commentary",
                recipient=recipient,
                content_type=content_type,
                text=item.arguments,
            )
            message = Message("assistant", item.arguments, "commentary", recipient, content_type)
            self.entries.append(Entry(message, tuple(tokens)))
        self.calls[item.call_id] = self.entries[-1]

    def _add_output(self, item: FunctionOutput) -> None:
        call = self.calls.get(item.call_id)
        if call is None:
            raise bad_request(
                f"{item.param}.call_id",
                f"no function call with the id {item.call_id!r} precedes it",
            )
        author = call.message.recipient or ""
        text, _ = _harmony.clip_text(item.output, self._max_output)
        tokens = _harmony.render_tool_result(author, call.message.channel, text)
        self.entries.append(
            Entry(Message(author, text, call.message.channel, "assistant"), tuple(tokens))
        )


def reasoning_tokens(result: RunResult) -> int:
    """Tokens of the run's reasoning messages (the analysis channel, calls excluded)."""
    generated = run_entries(result)
    return sum(
        len(e.tokens)
        for e in generated
        if e.message.author == "assistant"
        and e.message.channel == "analysis"
        and e.message.recipient is None
    )


def run_entries(result: RunResult) -> tuple[Entry, ...]:
    """The entries the run added, its opening message first."""
    return result.history.entries[len(result.history.entries) - len(result.messages) :]


def segments(result: RunResult, call_id: str) -> dict[str, tuple[Entry, ...]]:
    """The record of what the run generated, under the key a replay finds it by."""
    added = run_entries(result)
    if not added:
        return {}
    before = result.history.entries[: len(result.history.entries) - len(added) + 1]
    generated = added[1:]
    if result.pending_call is not None:
        return {call_key(call_id): generated}
    if result.stop_reason is StopReason.FINAL and generated:
        return {answer_key(before, result.final_text): generated}
    return {}
