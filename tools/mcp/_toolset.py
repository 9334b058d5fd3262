"""`MCPToolset`: the tools of several MCP servers, for an agent's `tools`."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from harmony_agent.sandbox._errors import ConfigError
from harmony_agent.tools._base import FunctionSource
from harmony_agent.tools._function import FunctionTool
from harmony_agent.tools.mcp._config import MCPServerConfig, check_unique_names

if TYPE_CHECKING:
    from harmony_agent.tools.mcp._connection import MCPConnection

__all__ = ["MCPToolset"]


class MCPToolset(FunctionSource):
    """The tools of `servers`, shown in the `functions` namespace like any function.

    Open it with `async with` (or `start()` / `aclose()`): each server is started or reached
    and its tools listed; one that cannot be raises `MCPServerUnavailable` naming it, and the
    ones already started are closed. Pass the open toolset in an agent's `tools`: every run
    then sees the servers' tools as they are when it starts (a server's `tools/list_changed`
    re-lists them). Closing it ends every server process it started. Images and binary
    resources the tools return are saved under `files_dir` (default: a temporary directory
    removed on close).
    """

    def __init__(
        self, servers: Sequence[MCPServerConfig], *, files_dir: Path | None = None
    ) -> None:
        try:
            check_unique_names(servers)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        self.servers = tuple(servers)
        self._files_dir = files_dir
        self._own_dir: Path | None = None
        self._connections: list[MCPConnection] = []

    def __repr__(self) -> str:
        return f"MCPToolset({', '.join(server.name for server in self.servers)})"

    @property
    def functions(self) -> tuple[FunctionTool, ...]:
        """Every server's tools; raises `ConfigError` when not open, or when two servers show
        the same name (give one a `prefix`).
        """
        if not self._connections and self.servers:
            raise ConfigError("the MCP toolset is not open: use `async with MCPToolset(...)`")
        owners: dict[str, str] = {}
        functions: list[FunctionTool] = []
        for connection in self._connections:
            for function in connection.functions:
                if function.name in owners:
                    raise ConfigError(
                        f"the MCP servers {owners[function.name]!r} and {connection.name!r} "
                        f"both have a tool named {function.name!r}: give one a `prefix`"
                    )
                owners[function.name] = connection.name
                functions.append(function)
        return tuple(functions)

    def tools_of(self, server: str) -> tuple[FunctionTool, ...]:
        """The tools one server shows (by its config name)."""
        for connection in self._connections:
            if connection.name == server:
                return connection.functions
        raise KeyError(server)

    async def start(self) -> None:
        """Connects every server, in order; raises `MCPServerUnavailable`."""
        from harmony_agent.tools.mcp._connection import MCPConnection

        if self._connections:
            return
        files_dir = self._files_dir
        if files_dir is None:
            self._own_dir = files_dir = Path(tempfile.mkdtemp(prefix="harmony-mcp-"))
        try:
            for server in self.servers:
                connection = MCPConnection(server, files_dir)
                await connection.start()
                self._connections.append(connection)
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Closes every connection (ending the processes of stdio servers)."""
        connections, self._connections = self._connections, []
        try:
            await asyncio.gather(*(c.aclose() for c in connections))
        finally:
            if self._own_dir is not None:
                shutil.rmtree(self._own_dir, ignore_errors=True)
                self._own_dir = None

    async def __aenter__(self) -> MCPToolset:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
