"""Fixtures of the MCP tests: the test server over stdio, and over streamable HTTP served by
uvicorn in this process on a free loopback port, or by a process of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from harmony_agent.tools.mcp import MCPStdioServer

from .server import build

SERVER_SCRIPT = Path(__file__).with_name("server.py")


def stdio_server(**settings: object) -> MCPStdioServer:
    """The test server run as a child process."""
    return MCPStdioServer.model_validate(
        {"name": "test", "command": sys.executable, "args": [str(SERVER_SCRIPT)], **settings}
    )


@pytest.fixture
async def http_url() -> AsyncIterator[str]:
    """The URL of the test server's MCP endpoint over streamable HTTP."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(build().streamable_http_app(), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    async with asyncio.timeout(30):
        while not server.started:  # noqa: ASYNC110 (uvicorn has no event for it)
            await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    await task
    listener.close()


@contextlib.asynccontextmanager
async def http_server_process(mode: str) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """The test server over streamable HTTP in a process of its own (`mode`: see `server.py`),
    with the URL of its MCP endpoint; the process is killed when the block ends.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        fd = listener.fileno()
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(SERVER_SCRIPT), "http", str(fd), mode, pass_fds=[fd]
        )
    try:
        yield f"http://127.0.0.1:{port}/mcp", process
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
