"""A conversation as the model sees it: messages with the exact tokens that represent them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from harmony_agent._messages import Message

__all__ = ["Entry", "History"]


@dataclass(frozen=True)
class Entry:
    """One message of the conversation and its tokens in the transcript."""

    message: Message
    tokens: tuple[int, ...]

    @property
    def is_reasoning(self) -> bool:
        """Whether this is chain of thought: an analysis message that calls no tool."""
        return self.message.channel == "analysis" and self.message.recipient is None


@dataclass(frozen=True)
class History:
    """The conversation after the system and developer messages, to continue in a later run.

    The next user turn drops the reasoning of the turns before it, as gpt-oss was trained:
    tool calls and their results stay, `analysis` messages that call no tool go.
    """

    entries: tuple[Entry, ...] = ()

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    @property
    def messages(self) -> tuple[Message, ...]:
        """The messages, in order."""
        return tuple(entry.message for entry in self.entries)

    def for_next_turn(self) -> History:
        """This history without the reasoning of its finished turns."""
        return History(tuple(entry for entry in self.entries if not entry.is_reasoning))
