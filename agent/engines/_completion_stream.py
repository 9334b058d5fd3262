"""Reading a streamed `/v1/completions` response: the data of server-sent events in, token ids
out.

A server that returns the generated token ids (vLLM's `return_token_ids`) is read as is. A
server that returns only text (special tokens kept, the stop token included) has its text
re-encoded with harmony, one stretch up to a special token at a time, so that a word is never
split into two encodings; those ids are the canonical encoding of the text, which is what the
model generates almost always, but not the engine's own ids byte for byte. A stretch longer
than `MAX_PENDING_TEXT` characters is encoded without waiting for its end, so that the text
held back stays bounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from harmony_agent import _harmony
from harmony_agent._errors import EngineError, InvalidEngineOutput
from harmony_agent._redact import Redactor
from harmony_agent.engines._base import FinishReason, TokenChunk

__all__ = ["MAX_PENDING_TEXT", "CompletionReader", "parse_event"]

MAX_PENDING_TEXT = 65536
"""Characters of text without a special token held back before they are encoded anyway."""
_SPELLING_ROOM = 32
"""More characters than the spelling of any special token (`<|reserved_201088|>` has 19)."""
_SPELLING = re.compile(rf"<\|[^<>|]{{1,{_SPELLING_ROOM - 4}}}\|>")
"""What may be the spelling of a special token."""
_EXCERPT = 200
"""Characters of a bad event quoted in an error."""
_FINISH_REASONS = {"stop": FinishReason.STOP, "length": FinishReason.LENGTH}
"""How the server's `finish_reason` maps; anything else (abort, error, ...) is an abort."""


def parse_event(data: str, redactor: Redactor) -> Mapping[str, Any]:
    """Parses one event's JSON, raising `InvalidEngineOutput` when the server sent something
    else (numbers of more than 4300 digits and nesting too deep for Python's parser included),
    and `EngineError` when it reports a failure; what the errors quote of the event has its
    secrets hidden by `redactor`.
    """
    try:
        event = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise InvalidEngineOutput(
            "the server sent an event that is not JSON Python can read: "
            f"{redactor.excerpt(data, _EXCERPT)!r}"
        ) from error
    if not isinstance(event, dict):
        raise InvalidEngineOutput(
            "the server sent an event that is not a JSON object: "
            f"{redactor.excerpt(data, _EXCERPT)!r}"
        )
    if "error" in event:
        problem = redactor.excerpt(_error_text(event["error"]), 10 * _EXCERPT)
        raise EngineError(f"the server failed during generation: {problem}")
    return event


class CompletionReader:
    """Turns the events of one completion into token ids and, at the end, the last chunk.

    Tokens are streamed as they arrive; the chunk that carries the finish reason is held back
    until the server's usage report (which follows it) or the end of the stream, so that it can
    carry `cached_prompt_tokens` (a count outside 0 to `prompt_tokens`, the prompt's length,
    is no count). Nothing after the first stop token is kept. What errors quote of an event
    has its secrets hidden by `redactor`.
    """

    def __init__(
        self, stop_token_ids: Collection[int], redactor: Redactor, *, prompt_tokens: int
    ) -> None:
        self._stops = frozenset(stop_token_ids)
        self._prompt_tokens = prompt_tokens
        self._redactor = redactor
        self._text = _PendingText()
        self._held: list[int] = []
        self._finish: FinishReason | None = None
        self._cached: int | None = None
        self._usage_seen = False
        self.generated = 0
        """How many tokens `feed` has returned so far."""
        self.received = 0
        """How many token ids and characters of text the events carried so far (progress)."""
        self.complete = False
        """Whether the generation finished and nothing more is needed from the stream."""

    def feed(self, event: Mapping[str, Any]) -> list[int]:
        """Reads one event; returns the token ids to stream now."""
        self._read_usage(event.get("usage"))
        if self._finish is not None:
            self.complete = True
            return []
        choices = event.get("choices") or []
        if not choices:
            return []
        choice = choices[0]
        if not isinstance(choice, dict):
            raise InvalidEngineOutput(
                f"the server sent a choice that is not an object: {self._excerpt(choice)!r}"
            )
        reason = choice.get("finish_reason")
        tokens = self._tokens_of(choice, final=reason is not None)
        for position, token in enumerate(tokens):
            if token in self._stops:
                self._finish = FinishReason.STOP
                tokens = tokens[: position + 1]
                break
        else:
            if reason is not None:
                self._finish = _FINISH_REASONS.get(str(reason), FinishReason.ABORT)
        if self._finish is not None:
            self._held = tokens
            self.complete = self._usage_seen
            return []
        self.generated += len(tokens)
        return tokens

    @property
    def finished(self) -> bool:
        """Whether the server said the generation ended (its usage report may still follow)."""
        return self._finish is not None

    def last_chunk(self) -> TokenChunk:
        """The final chunk; raises `EngineError` if the server never said the generation ended."""
        if self._finish is None:
            raise EngineError(
                f"the server's stream ended after {self.generated} tokens without a finish reason"
            )
        self.generated += len(self._held)
        return TokenChunk(tuple(self._held), self._finish, self._cached)

    def _tokens_of(self, choice: Mapping[str, Any], *, final: bool) -> list[int]:
        ids = choice.get("token_ids")
        if ids is not None:
            if not isinstance(ids, list) or not all(type(i) is int for i in ids):
                raise InvalidEngineOutput(
                    f"the server sent token_ids that are not integers: {self._excerpt(ids)!r}"
                )
            self.received += len(ids)
            return ids
        text = choice.get("text") or ""
        if not isinstance(text, str):
            raise InvalidEngineOutput(
                f"the server sent text that is not a string: {self._excerpt(text)!r}"
            )
        self.received += len(text)
        return self._text.add(text, final=final)

    def _excerpt(self, value: object) -> str:
        return self._redactor.excerpt(str(value), _EXCERPT)

    def _read_usage(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        self._usage_seen = True
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        valid = type(cached) is int and 0 <= cached <= self._prompt_tokens
        self._cached = cached if valid else None


class _PendingText:
    """Text a server streams, encoded one stretch at a time: up to each special token, all of
    it at the end, and all but what may begin a special token's spelling once more than
    `MAX_PENDING_TEXT` characters wait. Each character is looked at a bounded number of
    times, whatever the server sends (text that only looks like a spelling, `<|x|>`, never
    makes the pending text be encoded again).
    """

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._length = 0
        self._tail = ""
        """The pending text's last `_SPELLING_ROOM` characters, where a spelling may begin."""

    def add(self, text: str, *, final: bool) -> list[int]:
        """Takes the next text; returns the ids of the stretch it completes (possibly none)."""
        window = self._tail + text
        self._pieces.append(text)
        self._length += len(text)
        self._tail = window[-_SPELLING_ROOM:]
        if final:
            return self._take(self._length)
        seen = len(window) - len(text)  # spellings that end there were looked at before
        for spelling in reversed(list(_SPELLING.finditer(window))):
            if spelling.end() <= seen:
                break
            ids = _harmony.encode_completion(spelling.group())
            if len(ids) == 1 and _harmony.is_special(ids[0]):
                return self._take(self._length - (len(window) - spelling.end()))
        if self._length <= MAX_PENDING_TEXT:
            return []
        opening = self._tail.rfind("<")
        return self._take(self._length - (len(self._tail) - opening if opening >= 0 else 0))

    def _take(self, end: int) -> list[int]:
        """Encodes the first `end` characters; the rest waits."""
        text = "".join(self._pieces)
        head, rest = text[:end], text[end:]
        self._pieces, self._length, self._tail = (
            [rest] if rest else [],
            len(rest),
            rest[-_SPELLING_ROOM:],
        )
        return _harmony.encode_completion(head) if head else []


def _error_text(error: object) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)
