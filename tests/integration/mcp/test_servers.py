"""`harmony-agent mcp python|browser` through the official MCP client (the `mcp` SDK), over
stdio and streamable HTTP: the trained descriptions, one kernel per MCP session, the browser's
cursors.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import mcp_types
import pytest
from harmony_agent._harmony import trained_namespace
from harmony_agent.tools.python import PythonTool
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.console import SCRIPT

PAGE = b"<html><head><title>Tides</title></head><body><p>The Sihwa Lake plant makes 254 MW.</p></body></html>"


@contextlib.asynccontextmanager
async def stdio_session(*args: str) -> AsyncIterator[ClientSession]:
    parameters = StdioServerParameters(command=SCRIPT, args=["mcp", *args])
    async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@contextlib.asynccontextmanager
async def http_session(url: str) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def text(result: mcp_types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, mcp_types.TextContent))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def python_over_http() -> AsyncIterator[str]:
    """`harmony-agent mcp python --http PORT`, running; yields its MCP URL."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(SCRIPT, "mcp", "python", "--http", str(port))
    try:
        async with asyncio.timeout(60):
            while True:
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", port)).close()
                    break
                await asyncio.sleep(0.1)  # the server's process has no event to wait on
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        async with asyncio.timeout(30):
            await process.wait()


@pytest.fixture
def page_url() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tides.html"
    server.shutdown()


async def test_python_over_stdio_keeps_state_and_shows_the_trained_description() -> None:
    async with stdio_session("python") as session:
        [tool] = (await session.list_tools()).tools
        assert tool.name == "python"
        assert tool.description == PythonTool().namespace.description
        assert (tool.description or "").startswith("Use this tool to execute Python code")
        await session.call_tool("python", {"code": "x = 41"})
        result = await session.call_tool("python", {"code": "print(x + 1)"})
    assert not result.is_error
    assert text(result).strip() == "42"


async def test_python_arguments_are_checked() -> None:
    async with stdio_session("python") as session:
        result = await session.call_tool("python", {"source": "1"})
    assert result.is_error
    assert "'code' is a required property" in text(result)


async def test_each_http_session_has_its_own_kernel(python_over_http: str) -> None:
    async with http_session(python_over_http) as first, http_session(python_over_http) as second:
        await first.call_tool("python", {"code": "secret = 7"})
        mine = await first.call_tool("python", {"code": "print(secret)"})
        theirs = await second.call_tool("python", {"code": "print(secret)"})
    assert text(mine).strip() == "7"
    assert "NameError" in text(theirs)


async def test_browser_over_stdio_opens_and_finds_with_cursors(
    page_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "browser.yaml"
    config.write_text(
        "tools:\n  browser:\n    fetch:\n      guard:\n        allow_localhost: true\n"
    )
    async with stdio_session("browser", "--config", str(config)) as session:
        listed = {tool.name: tool for tool in (await session.list_tools()).tools}
        trained = {f.name: f for f in trained_namespace("browser").functions}
        assert set(listed) == set(trained) == {"search", "open", "find"}
        assert all(listed[name].description == trained[name].description for name in trained)
        opened = await session.call_tool("open", {"id": page_url})
        found = await session.call_tool("find", {"pattern": "Sihwa"})
    assert not opened.is_error and not found.is_error
    assert text(opened).startswith("[0] Tides")
    assert "254 MW" in text(found)
