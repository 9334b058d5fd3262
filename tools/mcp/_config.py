"""Where an MCP server is and which of its tools the model may call: `MCPStdioServer` (a
process this project starts) and `MCPHTTPServer` (one reached over streamable HTTP).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

__all__ = ["MCPHTTPServer", "MCPServerConfig", "MCPStdioServer"]

_NAME = r"^[A-Za-z0-9_-]{1,64}$"


class _Common(BaseModel):
    """What every MCP server's settings have."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=_NAME, description="What errors and `validate` call the server (letters, digits)."
    )
    allowed_tools: list[str] | None = Field(
        default=None, description="Only these of its tools are shown; None: all of them."
    )
    blocked_tools: list[str] = Field(
        default_factory=list, description="These of its tools are never shown."
    )
    timeout: float = Field(default=60.0, gt=0, description="Seconds one call may take.")
    connect_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to start, connect and list the tools."
    )
    prefix: str = Field(
        default="",
        pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$",
        description="Put before each tool's name (e.g. `time_`) when two servers share names.",
    )

    @model_validator(mode="after")
    def _allowed_or_blocked(self) -> _Common:
        if self.allowed_tools is not None and self.blocked_tools:
            raise ValueError("give `allowed_tools` or `blocked_tools`, not both")
        return self

    def shows(self, tool: str) -> bool:
        """Whether the tool named `tool` (as the server names it) is shown to the model."""
        if self.allowed_tools is not None:
            return tool in self.allowed_tools
        return tool not in self.blocked_tools


class MCPStdioServer(_Common):
    """An MCP server run as a child process, spoken to over its stdin and stdout.

    The process ends when the connection closes. `env` is added to a minimal environment
    (PATH, HOME...), not to this process's whole environment.
    """

    command: str = Field(description="The program to run, e.g. `uvx` or `python`.")
    args: list[str] = Field(default_factory=list, description="Its arguments.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables.")
    cwd: Path | None = Field(default=None, description="Its working directory.")


class MCPHTTPServer(_Common):
    """An MCP server reached over streamable HTTP at `url`, sending `headers` (e.g. an
    `Authorization` header from `${ENV}` in YAML; their values never appear in errors).
    """

    url: str = Field(pattern=r"^https?://", description="The server's MCP endpoint.")
    headers: dict[str, str] = Field(default_factory=dict, description="Sent with each request.")


def _kind(value: Any) -> str:
    """Which kind of server a config describes: one with a `url` is reached over HTTP."""
    if isinstance(value, dict):
        return "http" if "url" in value else "stdio"
    return "http" if isinstance(value, MCPHTTPServer) else "stdio"


MCPServerConfig = Annotated[
    Annotated[MCPStdioServer, Tag("stdio")] | Annotated[MCPHTTPServer, Tag("http")],
    Discriminator(_kind),
]
"""Either kind of MCP server: with `command`, a stdio server; with `url`, an HTTP one."""


def check_unique_names(servers: Sequence[MCPServerConfig]) -> None:
    """Raises ValueError when two servers share a name."""
    names = [server.name for server in servers]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"two MCP servers are named {twice[0]!r}")
