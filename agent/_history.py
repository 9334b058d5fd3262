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
    def is_analysis(self) -> bool:
        """Whether this message is on the analysis channel: chain of thought, a call the model
        made while reasoning (`python`, `browser.*`), or that call's result.
        """
        return self.message.channel == "analysis"


@dataclass(frozen=True)
class History:
    """The conversation after the system and developer messages, to continue in a later run.

    The next user turn drops the analysis channel of the turns before it, as gpt-oss was
    trained and as harmony's renderer and vLLM drop it: the chain of thought, and with it the
    calls made on that channel (`python` and `browser.*`, and a function called there) and
    their results, which are on the call's channel. Calls on `commentary` (functions) and their
    results stay, and so do the final answers.
    """

    entries: tuple[Entry, ...] = ()

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    @property
    def messages(self) -> tuple[Message, ...]:
        """The messages, in order."""
        return tuple(entry.message for entry in self.entries)

    def for_next_turn(self) -> History:
        """This history without the analysis channel of its finished turns."""
        return History(tuple(entry for entry in self.entries if not entry.is_analysis))
