"""What goes wrong opening a page: messages for the model, naming the URL and the reason."""

from __future__ import annotations

from harmony_agent.tools._base import ToolError

__all__ = ["Blocked", "OpenError"]


class OpenError(ToolError):
    """A page could not be opened (HTTP error, timeout, too large, unsupported content)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"Cannot open `{url}`: {reason}")
        self.url = url
        self.reason = reason


class Blocked(OpenError):
    """The URL is not allowed: its scheme, its domain, or the address its host resolves to."""
