"""An MCP server for the client's tests, built with the SDK's MCPServer (FastMCP): run as a
script it serves over stdio, or with `http FD MODE` over streamable HTTP on the listening
socket FD (`sse`: as the SDK does; other modes: see `Hostile`).

Its tools: the tiny model's `get_weather` (same name, description and schema as
`harmony_agent.tiny.get_weather`), and tools that misbehave on purpose.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import os
import socket
import sys
import zlib
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any

import uvicorn
from harmony_agent.tools.mcp._sdk import MAX_MESSAGE_BYTES
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ImageContent, TextContent

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Coroutine[Any, Any, Message]]
Send = Callable[[Message], Awaitable[None]]

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def build() -> MCPServer:
    """The test server with all its tools."""
    server = MCPServer("test-server")

    @server.tool()
    def get_weather(city: str) -> dict[str, object]:
        """Gets the current weather in a city.

        Args:
            city: City name, e.g. "Paris".
        """
        return {"city": city, "temperature_c": 21}

    @server.tool()
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool()
    def crash() -> str:
        """Ends the server's process at once."""
        os._exit(3)

    @server.tool()
    async def slow(seconds: float) -> str:
        """Sleeps, then answers."""
        await asyncio.sleep(seconds)
        return "done"

    @server.tool()
    def big(characters: int) -> str:
        """A text of that many characters."""
        return "x" * characters

    @server.tool()
    def header(name: str, ctx: Context) -> str:
        """The value of a header of the HTTP request that made the call."""
        request = ctx.request_context.request
        return "" if request is None else str(request.headers.get(name, ""))

    @server.tool()
    def fail() -> str:
        """Raises an error (an isError result)."""
        raise ValueError("the city is closed today")

    @server.tool()
    def picture() -> list[Any]:
        """A one-pixel PNG and a caption."""
        data = base64.b64encode(PNG).decode()
        return [
            TextContent(type="text", text="a pixel"),
            ImageContent(type="image", data=data, mime_type="image/png"),
        ]

    @server.tool()
    async def grow(ctx: Context) -> str:
        """Adds the tool `extra` and tells the client its tool list changed."""

        @server.tool()
        def extra() -> str:
            """A tool added while the server runs."""
            return "extra"

        await ctx.session.send_tool_list_changed()
        return "grown"

    return server


_CHUNK = 1024 * 1024
_FAR = MAX_MESSAGE_BYTES * 8
"""How much a hostile answer sends at most: far past the bound (it stops when the client
goes, so that the test server cannot run on)."""


def _answer(request_id: int, characters: int) -> bytes:
    """A JSON-RPC answer to a call of `big`, its text cut off at the end (`"}]}}` follows)."""
    head = {"jsonrpc": "2.0", "id": request_id, "result": {"structuredContent": {"result": ""}}}
    return (
        json.dumps(head).encode()[:-2]
        + b', "content": [{"type": "text", "text": "'
        + (b"x" * characters)
        + b'"}]}}'
    )


class Hostile:
    """The test server (answering in JSON, not event streams), except that a call of `big`
    is answered the way `mode` says: `json` lets the server answer it, `endless` streams a
    body without a length, `length` claims a length past the bound, `gzip` and `deflate`
    send a small body that decodes past the bound.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sent = 0
        self._inner = build().streamable_http_app(json_response=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or self.mode == "json":
            await self._inner(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        request = json.loads(body)
        if request.get("method") != "tools/call" or request["params"]["name"] != "big":
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self._inner(scope, replay, send)
            return
        await self._hostile(request["id"], receive, send)

    async def _hostile(self, request_id: int, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json")]
        if self.mode in ("gzip", "deflate"):
            whole = _answer(request_id, _FAR)
            packed = gzip.compress(whole) if self.mode == "gzip" else zlib.compress(whole)
            headers += [
                (b"content-encoding", self.mode.encode()),
                (b"content-length", str(len(packed)).encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": packed})
            self.sent = len(packed)
            return
        if self.mode == "length":
            headers.append((b"content-length", str(_FAR * 1024).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        gone = asyncio.create_task(receive())
        chunk = b"x" * _CHUNK
        try:
            await send(
                {
                    "type": "http.response.body",
                    "body": _answer(request_id, 0)[:-5],
                    "more_body": True,
                }
            )
            while not gone.done() and self.sent < _FAR:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                self.sent += _CHUNK
                await asyncio.sleep(0)
        finally:
            gone.cancel()


def serve_http(fd: int, mode: str) -> None:
    """Serves over streamable HTTP on the listening socket `fd` until ended."""
    app = build().streamable_http_app() if mode == "sse" else Hostile(mode)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        serve_http(int(sys.argv[2]), sys.argv[3])
    else:
        build().run("stdio")
    sys.exit(0)
