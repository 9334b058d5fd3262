"""Messages of a conversation and the record of repaired model output."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = ["Message", "Recovery", "RecoveryKind", "Role"]

Role = Literal["system", "developer", "user", "assistant", "tool"]

_ROLES: frozenset[str] = frozenset({"system", "developer", "user", "assistant"})


@dataclass(frozen=True)
class Message:
    """One harmony message.

    `author` is the role, or for a tool result the tool's name (`functions.get_weather`,
    `browser.search`, `python`). `recipient` is set on a tool call (`functions.get_weather`)
    and on a tool result (`assistant`).
    """

    author: str
    text: str
    channel: str | None = None
    recipient: str | None = None
    content_type: str | None = None

    @property
    def role(self) -> Role:
        """The author's role: a tool result's author is a tool name, its role is `tool`."""
        if self.author in _ROLES:
            return self.author  # type: ignore[return-value]
        return "tool"


class RecoveryKind(StrEnum):
    """Kinds of malformed model output the runtime repaired or answered."""

    SPELLED_SPECIAL_TOKEN = "spelled_special_token"
    """A structural token was written as plain text (`<|channel|>` as characters)."""
    HEADER_REPAIRED = "header_repaired"
    """Leftover words, a glued or misspelled channel, or a missing role in a header."""
    MISSING_HEADER = "missing_header"
    """Text without a message header."""
    MISSING_START = "missing_start"
    """A message began without `<|start|>` (e.g. `<|end|>assistant<|channel|>...`)."""
    DROPPED_EMPTY = "dropped_empty"
    """A malformed message with no content (a repeated `<|start|>`, a garbled header) was
    dropped."""
    MISSING_TERMINATOR = "missing_terminator"
    """A message was not closed before the next one or the end of the generation."""
    CALL_TERMINATOR = "call_terminator"
    """A tool call ended with `<|end|>` or `<|return|>` instead of `<|call|>`."""
    CALL_WITHOUT_RECIPIENT = "call_without_recipient"
    """A message ended with `<|call|>` but named no tool."""
    STRAY_TOKEN = "stray_token"
    """A special token where none belongs; ignored."""
    TRUNCATED = "truncated"
    """A message was cut off by the token limit."""
    IMPERSONATED_TOOL = "impersonated_tool"
    """The model wrote a message as a tool or user; it and what followed were dropped."""
    DISCARDED_AFTER_ACTION = "discarded_after_action"
    """Output after a tool call or a final answer was dropped."""
    ANSWER_CHANNEL = "answer_channel"
    """An answer ended with `<|return|>` on a channel other than `final`."""
    EMPTY_FINAL = "empty_final"
    """The final answer was empty; the model was asked again."""
    RECIPIENT_REPAIRED = "recipient_repaired"
    """A tool name was corrected unambiguously (e.g. a missing `functions.` prefix)."""
    UNKNOWN_RECIPIENT = "unknown_recipient"
    """A call named no known tool; the model was told which tools exist."""


@dataclass(frozen=True)
class Recovery:
    """One repair of malformed model output (or one answer to it)."""

    kind: RecoveryKind
    detail: str
