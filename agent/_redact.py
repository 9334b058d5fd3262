"""Hides secrets: known secret values and strings shaped like API keys.

The one redaction of the project: trace records, the errors engines raise from what servers
sent, config errors, and everything the console prints go through a `Redactor`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["REDACTED", "RedactedStream", "Redactor"]

REDACTED = "[REDACTED]"
"""What a secret is replaced with."""

_LABEL = r"\bbearer\s+|(?<![a-z0-9])(?:api[_-]?key|token|passw(?:or)?d|secret)[\"']?\s*[:=]"
_KEY_SHAPES = re.compile(
    r"(?i)(?P<token>\b(?:sk|pk|rk|ghp|gho|xox[abp])[-_][A-Za-z0-9_-]{16,})"
    rf"|(?P<label>(?:{_LABEL})\s*[\"']?)"
    r"(?P<value>[A-Za-z0-9._~+/=-]{8,})"
)
"""A key-shaped token, or a value after `Bearer`, `api_key:`, `access_token=`, `password:`..."""
_LABEL_AT_END = re.compile(rf"(?i)(?:{_LABEL})\s*[\"']?$")
"""A label at the end of a text, its value still to come."""
_MIN_SECRET = 4
"""Shorter values are not treated as secrets (they would hide ordinary words)."""
_MAX_HELD = 4096
"""Characters a stream holds back at most (a longer word is shown, redacted as a whole)."""


class Redactor:
    """Replaces each of `secrets` (and anything shaped like an API key) with `[REDACTED]`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        known = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)
        self._secrets = tuple(known)
        self._known = re.compile("|".join(map(re.escape, known))) if known else None

    def text(self, text: str) -> str:
        """`text` with its secrets hidden."""
        if self._known is not None:
            text = self._known.sub(REDACTED, text)
        return _KEY_SHAPES.sub(_hide, text)

    def excerpt(self, text: str, limit: int) -> str:
        """The start of `text`, about `limit` characters, with its secrets hidden before it is
        cut (so that no start of a secret is left at the cut); a cut never splits `[REDACTED]`.
        """
        text = self.text(text)
        marker = text.find(REDACTED, max(limit - len(REDACTED) + 1, 0), limit + len(REDACTED))
        return text[: marker + len(REDACTED) if 0 <= marker < limit else limit]

    def value(self, value: Any) -> Any:
        """A JSON value with the secrets in its strings (and keys) hidden."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value

    def stream(self) -> RedactedStream:
        """A redactor for text that arrives in pieces, such as a model's streamed tokens."""
        return RedactedStream(self)

    def unsafe_tail(self, text: str) -> int:
        """Where the end of `text` that may still turn into a secret begins: the word being
        written, a label (`Bearer`, `api_key:`...) whose value has not come, and an end that
        begins a known secret.
        """
        start = len(text)
        if text and not text[-1].isspace():
            start = max(text.rfind(c, 0, start) for c in " \t\n") + 1
        label = _LABEL_AT_END.search(text, 0, start)
        if label is not None:
            start = label.start()
        for secret in self._secrets:
            for position in range(max(len(text) - len(secret), 0), start):
                if secret.startswith(text[position:]):
                    start = position
                    break
        return start


class RedactedStream:
    """Redacts text that arrives in pieces: `feed` returns what can be shown of it so far,
    holding back what may still turn out to be part of a secret (at most `_MAX_HELD`
    characters); `flush` returns the rest.
    """

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._pending = ""

    def feed(self, piece: str) -> str:
        """Takes the next piece; returns the text now safe to show, with its secrets hidden."""
        self._pending += piece
        if len(self._pending) > _MAX_HELD:
            return self.flush()
        pending, redact, tail = self._pending, self._redactor.text, self._redactor.unsafe_tail
        whole = redact(pending)
        end = tail(pending)
        while end > 0 and not whole.startswith(shown := redact(pending[:end])):
            # alone, the text up to `end` is redacted differently (a secret would be cut in
            # two, or judged without what follows): end at an earlier space instead
            end = tail(pending[: max(pending.rfind(space, 0, end - 1) for space in " \t\n") + 1])
        if end <= 0:
            return ""
        self._pending = pending[end:]
        return shown

    def flush(self) -> str:
        """Returns what was held back, with its secrets hidden, and starts afresh."""
        shown, self._pending = self._pending, ""
        return self._redactor.text(shown)


def _hide(match: re.Match[str]) -> str:
    return REDACTED if match.group("token") else match.group("label") + REDACTED
