"""`MCPConnection`: one live MCP server, its tools as function tools, restarted once when it
stops.

The SDK's sessions live in task groups that must be entered and left by one task, so each
session is held open by a task of its own; calls from any run go through it. A stdio server's
process ends with its session: its stdin is closed, then its process group ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harmony_agent.sandbox._errors import ConfigError
from harmony_agent.tools import _feedback
from harmony_agent.tools._base import ToolError, ToolOutput
from harmony_agent.tools._function import FunctionTool
from harmony_agent.tools.mcp import _sdk
from harmony_agent.tools.mcp._config import MCPHTTPServer, MCPServerConfig
from harmony_agent.tools.mcp._errors import MCPServerUnavailable
from harmony_agent.tools.mcp._results import to_output

__all__ = ["MCPConnection"]

_log = logging.getLogger(__name__)
_REDACTED = "[REDACTED]"
_MAX_DESCRIPTION = 8192


class MCPConnection:
    """One MCP server, connected by `start` and closed by `aclose`.

    `functions` are its tools (those the config shows), re-listed when the server says its
    list changed. A call during which the server stops restarts it once and tells the model;
    after a second stop its tools answer that the server is down.
    """

    def __init__(self, config: MCPServerConfig, files_dir: Path) -> None:
        self.config = config
        self._files_dir = files_dir / config.name
        self._functions: tuple[FunctionTool, ...] = ()
        self._client: _sdk.Client | None = None
        self._holder: asyncio.Task[None] | None = None
        self._end = asyncio.Event()
        self._generation = 0
        self._restarted = False
        self._down = False
        self._restart_lock = asyncio.Lock()
        self._relists: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        """The server's name in the config."""
        return self.config.name

    @property
    def functions(self) -> tuple[FunctionTool, ...]:
        """The server's tools the model may call, as listed last."""
        return self._functions

    async def start(self) -> None:
        """Starts (or reaches) the server, initializes the session and lists its tools;
        raises `MCPServerUnavailable`.
        """
        self._end = asyncio.Event()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        holder = asyncio.create_task(self._hold(ready, self._end), name=f"mcp-{self.name}")
        self._holder = holder
        try:
            async with asyncio.timeout(self.config.connect_timeout):
                await asyncio.shield(ready)
        except TimeoutError:
            await self._stop()
            raise MCPServerUnavailable(
                self.name, f"no answer within {self.config.connect_timeout:g} s"
            ) from None
        except asyncio.CancelledError:
            await asyncio.shield(self._stop())
            raise
        except Exception as error:
            await self._stop()
            raise MCPServerUnavailable(self.name, self._describe(error)) from None
        self._generation += 1

    async def aclose(self) -> None:
        """Ends the session (and the server's process); safe to call twice."""
        for task in self._relists:
            task.cancel()
        await asyncio.shield(self._stop())

    async def _stop(self) -> None:
        """Ends the session: a connected one by its end event (the SDK then ends the server
        as it should), one still connecting by cancelling it (it waits for no answer).
        """
        holder, self._holder = self._holder, None
        self._end.set()
        if holder is not None:
            if self._client is None:
                holder.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await holder

    async def _hold(self, ready: asyncio.Future[None], end: asyncio.Event) -> None:
        """Holds one session open until `end` is set."""
        try:
            async with _sdk.connect(self.config, self._tools_changed) as client:
                await self._list(client)
                self._client = client
                ready.set_result(None)
                await end.wait()
        except Exception as error:
            if not ready.done():
                ready.set_exception(error)
            else:
                _log.warning("MCP server %r: %s", self.name, self._describe(error))
        finally:
            self._client = None

    def _tools_changed(self) -> None:
        task = asyncio.get_running_loop().create_task(self._relist())
        self._relists.add(task)
        task.add_done_callback(self._relists.discard)

    async def _relist(self) -> None:
        client = self._client
        if client is None:
            return
        try:
            async with asyncio.timeout(self.config.connect_timeout):
                await self._list(client)
        except Exception as error:
            _log.warning("MCP server %r: re-listing its tools failed: %s", self.name, error)

    async def _list(self, client: _sdk.Client) -> None:
        functions: dict[str, FunctionTool] = {}
        for listed in await client.list_tools():
            function = self._function(listed)
            if function is not None and function.name not in functions:
                functions[function.name] = function
        self._functions = tuple(functions.values())

    def _function(self, listed: Mapping[str, Any]) -> FunctionTool | None:
        """A listed tool as a function tool; None when hidden or unusable (logged)."""
        name = listed.get("name")
        if not isinstance(name, str) or not self.config.shows(name):
            return None
        description = listed.get("description")
        try:
            return FunctionTool(
                name=self.config.prefix + _identifier(name),
                description=description[:_MAX_DESCRIPTION] if isinstance(description, str) else "",
                parameters=_parameters(listed.get("inputSchema")),
                handler=self._handler(name),
                timeout=self.config.timeout,
            )
        except ConfigError as error:
            _log.warning("MCP server %r: its tool %.80r is not shown: %s", self.name, name, error)
            return None

    def _handler(self, tool: str) -> Any:
        async def call(**arguments: Any) -> ToolOutput:
            return await self.call(tool, arguments)

        return call

    async def call(self, tool: str, arguments: dict[str, Any]) -> ToolOutput:
        """Calls the server's tool `tool` (its own name); what the model can act on (an
        `isError` result, a refused call, a restart) is raised as `ToolError`.
        """
        if self._down:
            raise ToolError(_feedback.mcp_server_down(self.name))
        generation, client = self._generation, self._client
        try:
            if client is None:
                raise _sdk.ServerGone("not connected")
            result = await client.call_tool(tool, arguments)
        except _sdk.ServerGone:
            await self._restart(generation)
            raise ToolError(_feedback.mcp_server_restarted(self.name)) from None
        except _sdk.CallRejected as error:
            raise ToolError(f"the MCP server {self.name!r} refused the call: {error}") from None
        return to_output(result, self.name, self._files_dir)

    async def _restart(self, generation: int) -> None:
        """Restarts the server once after it stopped; raises `ToolError` when it is down."""
        async with self._restart_lock:
            if self._generation != generation:
                return  # another call restarted it meanwhile
            if self._restarted:
                self._down = True
                await self._stop()
                raise ToolError(_feedback.mcp_server_down(self.name))
            self._restarted = True
            _log.warning("MCP server %r stopped; restarting it", self.name)
            await self._stop()
            try:
                await self.start()
            except MCPServerUnavailable as error:
                self._down = True
                _log.warning("%s", error)
                raise ToolError(_feedback.mcp_server_down(self.name)) from None

    def _describe(self, error: BaseException) -> str:
        """The root of `error` (task groups wrap it) in words, header values hidden."""
        while isinstance(error, BaseExceptionGroup) and error.exceptions:
            error = error.exceptions[0]
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if isinstance(self.config, MCPHTTPServer):
            for value in self.config.headers.values():
                if len(value) >= 4:
                    text = text.replace(value, _REDACTED)
        return text


def _identifier(name: str) -> str:
    """An MCP tool name (letters, digits, `_-.`) as a function name the model can write."""
    identifier = re.sub(r"\W", "_", name, flags=re.ASCII)
    return identifier if identifier[:1].isalpha() or identifier[:1] == "_" else f"_{identifier}"


def _parameters(schema: object) -> Mapping[str, Any] | None:
    """The arguments schema a function tool takes: None for an object without properties."""
    if not isinstance(schema, dict):
        return None
    if not schema.get("properties") and not schema.get("additionalProperties"):
        return None
    return schema
