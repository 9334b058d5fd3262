"""The error of an MCP server that cannot be used (part of the `HarmonyAgentError` tree)."""

from __future__ import annotations

from harmony_agent.sandbox._errors import HarmonyAgentError

__all__ = ["MCPServerUnavailable"]


class MCPServerUnavailable(HarmonyAgentError):
    """An MCP server could not be started, reached, initialized or listed in time; `server`
    is the name it has in the config.
    """

    def __init__(self, server: str, problem: str) -> None:
        super().__init__(f"the MCP server {server!r} is unavailable: {problem}")
        self.server = server
