"""Fixtures of the MCP tests: the test server over stdio, and over streamable HTTP served by
uvicorn in this process on a free loopback port, or by a process of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
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


class HTTPServerProcess:
    """The test server over streamable HTTP in a process of its own (`mode`: see `server.py`)
    on a listening socket this process holds: `kill()` ends the running process at once; a new
    one then starts on the same socket while `respawns` last, after which the socket is closed
    (connections are refused).
    """

    def __init__(self, mode: str, respawns: int) -> None:
        self._mode = mode
        self._respawns = respawns
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/mcp"
        self._processes: list[subprocess.Popen[bytes]] = []
        self._spawn()

    def _spawn(self) -> None:
        fd = self._listener.fileno()
        command = [sys.executable, str(SERVER_SCRIPT), "http", str(fd), self._mode]
        self._processes.append(subprocess.Popen(command, pass_fds=[fd]))

    def kill(self) -> None:
        """Kills the running process, then starts the next one or closes the socket."""
        self._processes[-1].kill()
        if self._respawns > 0:
            self._respawns -= 1
            self._spawn()
        else:
            self._listener.close()

    def close(self) -> None:
        """Kills every process and closes the socket."""
        for process in self._processes:
            process.kill()
            process.wait()
        self._listener.close()


@contextlib.contextmanager
def http_server_process(mode: str, respawns: int = 0) -> Iterator[HTTPServerProcess]:
    """An `HTTPServerProcess`, closed when the block ends."""
    server = HTTPServerProcess(mode, respawns)
    try:
        yield server
    finally:
        server.close()
