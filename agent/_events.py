"""Typed events a run emits while it goes; the loop never prints, listeners do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harmony_agent._messages import Message, Recovery
from harmony_agent._result import RunResult, ToolCall, ToolResult, Usage
from harmony_agent.engines import FinishReason

__all__ = [
    "ContextTrimmed",
    "Event",
    "GenerationFinished",
    "MessageDone",
    "Recovered",
    "RunFinished",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallStarted",
]


@dataclass(frozen=True)
class TextDelta:
    """New text of the message being generated, on its channel (and to its recipient)."""

    text: str
    channel: str | None
    recipient: str | None = None


@dataclass(frozen=True)
class MessageDone:
    """A message was added to the conversation (user, assistant or tool)."""

    message: Message


@dataclass(frozen=True)
class ToolCallStarted:
    """A tool call is about to run (a client function's, by the caller once the run stopped)."""

    call: ToolCall


@dataclass(frozen=True)
class ToolCallFinished:
    """A tool call ended; `result.output` is what the model will read."""

    result: ToolResult


@dataclass(frozen=True)
class Recovered:
    """Malformed model output was repaired, or answered with a message to the model."""

    recovery: Recovery


@dataclass(frozen=True)
class ContextTrimmed:
    """Tokens were taken out to keep the run inside the context window.

    `kind` is `tool_output_truncated` (a result cut to `max_tool_output_tokens`) or
    `tool_result_elided` (an older result of this run replaced by a short note).
    """

    kind: Literal["tool_output_truncated", "tool_result_elided"]
    tokens_removed: int
    detail: str


@dataclass(frozen=True)
class GenerationFinished:
    """One model generation ended; `usage` is the run's total so far."""

    finish_reason: FinishReason | None
    completion_tokens: int
    usage: Usage


@dataclass(frozen=True)
class RunFinished:
    """The run ended; this is always the last event."""

    result: RunResult


Event = (
    TextDelta
    | MessageDone
    | ToolCallStarted
    | ToolCallFinished
    | Recovered
    | ContextTrimmed
    | GenerationFinished
    | RunFinished
)
"""Any event a run emits."""
