"""The token transcript of one run: what the model sees, grown by appending only."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from harmony_agent import _harmony
from harmony_agent._history import Entry, History
from harmony_agent._messages import Message

__all__ = ["Transcript"]


class Transcript:
    """The preamble (system and developer messages), the history, then this run's messages.

    Appending costs only the new tokens; a prompt is the token list itself, never a copy.
    Only eliding an old tool result to save context rebuilds the list.
    """

    def __init__(self, preamble: Sequence[int], history: History) -> None:
        self._preamble = tuple(preamble)
        self._tokens = list(preamble)
        for entry in history:
            self._tokens.extend(entry.tokens)
        self._entries = list(history.entries)
        self._run_start = len(self._entries)
        self._elided: set[int] = set()

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

    def elide_oldest_tool_result(self, stub: Callable[[Message, int], str]) -> int:
        """Replaces the text of this run's oldest tool result (never the latest one) with
        `stub(message, its token count)`; returns the tokens saved (0: none left to elide).
        """
        results = [
            index
            for index in range(self._run_start, len(self._entries))
            if self._entries[index].message.role == "tool" and index not in self._elided
        ]
        if len(results) < 2:
            return 0
        index = results[0]
        old = self._entries[index]
        new = replace(old.message, text=stub(old.message, len(old.tokens)))
        tokens = _harmony.render_tool_result(new.author, new.channel, new.text)
        self._entries[index] = Entry(new, tuple(tokens))
        self._elided.add(index)
        self._tokens = list(self._preamble)
        for entry in self._entries:
            self._tokens.extend(entry.tokens)
        return len(old.tokens) - len(tokens)

    @property
    def run_messages(self) -> tuple[Message, ...]:
        """The messages this run added."""
        return tuple(entry.message for entry in self._entries[self._run_start :])

    def history(self) -> History:
        """The whole conversation after the preamble, to continue later."""
        return History(tuple(self._entries))
