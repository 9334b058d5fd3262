"""Hides secrets: known secret values and strings shaped like API keys.

The one redaction of the project: trace records, the errors engines raise from what servers
sent, config errors, and everything the console prints go through a `Redactor`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["REDACTED", "Redactor"]

REDACTED = "[REDACTED]"
"""What a secret is replaced with."""

_KEY_SHAPES = re.compile(
    r"(?i)(?P<token>\b(?:sk|pk|rk|ghp|gho|xox[abp])[-_][A-Za-z0-9_-]{16,})"
    r"|(?P<label>\bbearer\s+|\b(?:api[_-]?key|token|password|secret)[\"']?\s*[:=]\s*[\"']?)"
    r"(?P<value>[A-Za-z0-9._~+/=-]{8,})"
)
"""A key-shaped token, or a value after `Bearer`, `api_key:`, `token=`, `password:`..."""
_MIN_SECRET = 4
"""Shorter values are not treated as secrets (they would hide ordinary words)."""


class Redactor:
    """Replaces each of `secrets` (and anything shaped like an API key) with `[REDACTED]`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        known = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)
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


def _hide(match: re.Match[str]) -> str:
    return REDACTED if match.group("token") else match.group("label") + REDACTED
