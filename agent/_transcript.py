"""The token transcript of one run: what the model sees, grown by appending only."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from harmony_agent import _harmony
from harmony_agent._history import Entry, History
from harmony_agent._messages import Message

__all__ = ["Transcript"]


class Transcript:
    """The preamble (system and developer messages), the history, then this run's messages.

    Appending costs only the new tokens; a prompt is the token list itself, never a copy.
    """

    def __init__(self, preamble: Sequence[int], history: History) -> None:
        self._tokens = list(preamble)
        for entry in history:
            self._tokens.extend(entry.tokens)
        self._entries = list(history.entries)
        self._run_start = len(self._entries)

    def append(self, message: Message, tokens: Sequence[int]) -> None:
        """Adds a message with the tokens that represent it."""
        self._tokens.extend(tokens)
        self._entries.append(Entry(message, tuple(tokens)))

    @contextmanager
    def prompt(self) -> Iterator[list[int]]:
        """The tokens to generate from, ending in `<|start|>assistant`, while the block runs.

        The engine reads the list during generation; nothing else may change it meanwhile.
        """
        self._tokens.extend(_harmony.ASSISTANT_HEADER)
        try:
            yield self._tokens
        finally:
            del self._tokens[-len(_harmony.ASSISTANT_HEADER) :]

    def __len__(self) -> int:
        return len(self._tokens)

    @property
    def run_messages(self) -> tuple[Message, ...]:
        """The messages this run added."""
        return tuple(entry.message for entry in self._entries[self._run_start :])

    def history(self) -> History:
        """The whole conversation after the preamble, to continue later."""
        return History(tuple(self._entries))
