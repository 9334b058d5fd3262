"""`ToolServer` keeps one session of its tool per MCP session: opened at the first call, closed
when the client ends the MCP session or the server stops; and the python tool's timeout holds
over MCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from harmony_agent.tools import BuiltinTool, FunctionSpec, ToolNamespace, ToolOutput, ToolSession
from harmony_agent.tools.mcp._serving import ServedFunction, ToolServer
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from .test_servers import stdio_session, text


class CountingSession(ToolSession):
    def __init__(self, opened: list[CountingSession]) -> None:
        self.calls = 0
        self.closed = False
        opened.append(self)

    async def call(self, function: str | None, arguments: str) -> ToolOutput:
        self.calls += 1
        return ToolOutput(f"call {self.calls} of this session")

    async def aclose(self) -> None:
        self.closed = True


class CountingTool(BuiltinTool):
    """A tool whose sessions count their calls and know whether they were closed."""

    def __init__(self) -> None:
        self.opened: list[CountingSession] = []

    @property
    def namespace(self) -> ToolNamespace:
        return ToolNamespace("counter", "Counts calls.")

    async def open_session(self) -> ToolSession:
        return CountingSession(self.opened)


SPEC = FunctionSpec("count", "Counts.", {"type": "object", "properties": {}})


@contextlib.asynccontextmanager
async def serving(tool: CountingTool) -> AsyncIterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ToolServer(tool, [ServedFunction(SPEC, None, lambda arguments: "")])
    task = asyncio.create_task(server.serve("http", "127.0.0.1", port))
    async with asyncio.timeout(30):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)  # uvicorn gives no event for listening
                continue
            writer.close()
            break
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def count(url: str, calls: int) -> list[str]:
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return [text(await session.call_tool("count", {})) for _ in range(calls)]


async def test_each_mcp_session_has_its_own_session_closed_when_the_client_ends_it() -> None:
    tool = CountingTool()
    async with serving(tool) as url:
        first, second = await asyncio.gather(count(url, 2), count(url, 3))
        assert first == ["call 1 of this session", "call 2 of this session"]
        assert second[-1] == "call 3 of this session"
        assert len(tool.opened) == 2
        assert all(session.closed for session in tool.opened)


async def test_stopping_the_server_closes_the_sessions_it_holds() -> None:
    tool = CountingTool()
    async with serving(tool) as url:
        async with (
            streamable_http_client(url, terminate_on_close=False) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            await session.call_tool("count", {})
        [held] = tool.opened
        assert not held.closed
    assert held.closed


async def test_the_python_tools_timeout_holds_over_mcp(tmp_path: Path) -> None:
    config = tmp_path / "python.yaml"
    config.write_text("tools:\n  python:\n    cell_timeout_s: 1\n")
    async with stdio_session("python", "--config", str(config)) as session:
        slow = await session.call_tool("python", {"code": "import time; x = 1; time.sleep(30)"})
        after = await session.call_tool("python", {"code": "print(x)"})
    assert "ran past the 1 s timeout and was interrupted" in text(slow)
    assert text(after).strip() == "1"
