"""The one module that imports the `mcp` SDK (the `mcp` extra); the rest of the package
imports this module only when it connects to a server or serves one.

What crosses this module's edge is plain data: tools and call results as JSON-shaped dicts,
so no other module depends on the SDK's types.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import anyio
import httpx2
import mcp_types
import uvicorn
from harmony_agent.tools._base import FunctionSpec
from harmony_agent.tools.mcp._config import MCPHTTPServer, MCPServerConfig, MCPStdioServer
from harmony_agent.tools.mcp._serving import Reply
from mcp import ClientSession, MCPError
from mcp.client.stdio import get_default_environment
from mcp.client.streamable_http import streamable_http_client
from mcp.os.posix.utilities import terminate_posix_process_tree
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared._httpx_utils import MCP_DEFAULT_SSE_READ_TIMEOUT, MCP_DEFAULT_TIMEOUT
from mcp.shared.message import SessionMessage

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_TOOLS",
    "STDIO",
    "CallRejected",
    "Client",
    "ServerGone",
    "connect",
    "serve_http",
    "serve_stdio",
]

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""The largest message a server may send: a stdio line, a streamable HTTP event or answer."""
MAX_TOOLS = 512
"""The most tools one server may list (more are not shown)."""
_MAX_PAGES = 64
_EXIT_GRACE_S = 2.0
_log = logging.getLogger(__name__)


class ServerGone(Exception):
    """The connection to the server ended (its process exited, the HTTP session broke)."""


class CallRejected(Exception):
    """The server answered a call with a protocol error (unknown tool, invalid params)."""


class Client:
    """A connected, initialized MCP client session."""

    def __init__(self, session: ClientSession, lost: Callable[[], bool]) -> None:
        self._session = session
        self._lost = lost

    async def list_tools(self) -> list[dict[str, Any]]:
        """The server's tools (at most `MAX_TOOLS`), each as the protocol's JSON."""
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            params = None if cursor is None else mcp_types.PaginatedRequestParams(cursor=cursor)
            result = await self._guarded(self._session.list_tools(params=params))
            tools += [tool.model_dump(mode="json", by_alias=True) for tool in result.tools]
            cursor = result.next_cursor
            if cursor is None or len(tools) >= MAX_TOOLS:
                break
        return tools[:MAX_TOOLS]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Calls a tool; returns the `CallToolResult` as the protocol's JSON."""
        result: mcp_types.CallToolResult = await self._guarded(
            self._session.call_tool(name, arguments)
        )
        return result.model_dump(mode="json", by_alias=True)

    async def _guarded(self, request: Any) -> Any:
        """Awaits a request, telling a lost connection (or HTTP session) from an error the
        server sent.
        """
        return await _guarded(request, self._lost)


async def _guarded(request: Any, lost: Callable[[], bool]) -> Any:
    """Awaits a request, telling a lost connection, or an HTTP session the server no longer
    knows (`lost()`: a restarted server answers 404 to it), from an error the server sent.
    """
    try:
        return await request
    except MCPError as error:
        if error.code == mcp_types.CONNECTION_CLOSED or lost():
            raise ServerGone(error.error.message) from None
        raise CallRejected(error.error.message) from None
    except (httpx2.TransportError, httpx2.HTTPStatusError) as error:
        raise ServerGone(f"{type(error).__name__}: {error}") from None


@contextlib.asynccontextmanager
async def connect(
    server: MCPServerConfig, on_tools_changed: Callable[[], None]
) -> AsyncIterator[Client]:
    """Starts or reaches `server` and initializes a session; `on_tools_changed` is called
    when the server says its tool list changed. Leaving the block ends the session (and the
    process of a stdio server, with its whole process group).
    """

    async def on_message(message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            on_tools_changed()

    async with contextlib.AsyncExitStack() as stack:
        if isinstance(server, MCPHTTPServer):
            bounded = _BoundedTransport(server)
            lost = bounded.session_lost
            http = await stack.enter_async_context(
                httpx2.AsyncClient(
                    headers=server.headers,
                    timeout=httpx2.Timeout(MCP_DEFAULT_TIMEOUT, read=MCP_DEFAULT_SSE_READ_TIMEOUT),
                    transport=bounded,
                )
            )
            transport = streamable_http_client(
                server.url, http_client=http, max_sse_event_size=MAX_MESSAGE_BYTES
            )
        else:
            transport = _stdio(server)
            lost = _never
        read, write = await stack.enter_async_context(transport)
        session = await stack.enter_async_context(
            ClientSession(read, write, message_handler=on_message)
        )
        await _guarded(session.initialize(), lost)
        yield Client(session, lost)


def _never() -> bool:
    return False


class ResponseTooLarge(Exception):
    """A server's HTTP answer that is over `MAX_MESSAGE_BYTES`, decoded; ends the connection."""

    def __init__(self, server: str) -> None:
        super().__init__(
            f"the MCP server {server!r} sent an HTTP answer over {MAX_MESSAGE_BYTES} bytes: "
            "disconnected"
        )


class _BoundedTransport(httpx2.AsyncHTTPTransport):
    """The HTTP transport of one server's client: an answer that is not an event stream (the
    SDK bounds each of its events) is decoded here, and raises `ResponseTooLarge` (which ends
    the connection) as soon as it passes `MAX_MESSAGE_BYTES` decoded, or says in its
    Content-Length that it will. The SDK reads such a body whole into memory.
    """

    def __init__(self, server: MCPHTTPServer) -> None:
        super().__init__()
        self._server = server.name
        self._session_lost = False

    def session_lost(self) -> bool:
        """Whether the server answered 404 to a request of the session: it does not know the
        session any more (it was restarted); the spec says to start a new one.
        """
        return self._session_lost

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await super().handle_async_request(request)
        if response.status_code == 404 and "mcp-session-id" in request.headers:
            self._session_lost = True
        if response.headers.get("content-type", "").lower().startswith("text/event-stream"):
            return response
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_MESSAGE_BYTES:
            await response.aclose()
            raise ResponseTooLarge(self._server)
        raw = httpx2.Response(
            response.status_code, headers=response.headers, stream=response.stream, request=request
        )
        decoded = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length")
        ]
        return httpx2.Response(
            response.status_code,
            headers=decoded,
            stream=_BoundedBody(raw, self._server),
            extensions=response.extensions,
            request=request,
        )


class _BoundedBody(httpx2.AsyncByteStream):
    """A response's body, decoded (httpx2 inflates it a piece at a time), that raises
    `ResponseTooLarge` once it passes `MAX_MESSAGE_BYTES`.
    """

    def __init__(self, raw: httpx2.Response, server: str) -> None:
        self._raw = raw
        self._server = server

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._raw.aiter_bytes():
            size += len(chunk)
            if size > MAX_MESSAGE_BYTES:
                raise ResponseTooLarge(self._server)
            yield chunk

    async def aclose(self) -> None:
        await self._raw.aclose()


@contextlib.asynccontextmanager
async def _stdio(server: MCPStdioServer) -> AsyncIterator[tuple[Any, Any]]:
    """The server's process, spoken to over its stdin and stdout: the SDK's stdio transport,
    but bounded (a line longer than `MAX_MESSAGE_BYTES` ends the connection before more of it
    is buffered). Leaving the block closes stdin, then ends the process's whole group.
    """
    process = await anyio.open_process(
        [shutil.which(server.command) or server.command, *server.args],
        env=get_default_environment() | server.env,
        cwd=server.cwd,
        stderr=None,
        start_new_session=True,
    )
    read_in, read_out = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_in, write_out = anyio.create_memory_object_stream[SessionMessage](0)
    stdin, stdout = process.stdin, process.stdout
    assert stdin is not None and stdout is not None  # opened with pipes

    async def read() -> None:
        pending = bytearray()
        async with read_in:
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                async for chunk in stdout:
                    start = len(pending)
                    pending += chunk
                    while (end := pending.find(b"\n", start)) >= 0:
                        line, start = bytes(pending[:end]), 0
                        del pending[: end + 1]
                        await read_in.send(_message(line))
                    if len(pending) > MAX_MESSAGE_BYTES:
                        _log.warning(
                            "MCP server %r sent a message over %d bytes: disconnected",
                            server.name,
                            MAX_MESSAGE_BYTES,
                        )
                        return

    async def write() -> None:
        async with write_out:
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                async for message in write_out:
                    text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await stdin.send(text.encode() + b"\n")

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(read)
        tasks.start_soon(write)
        try:
            yield read_out, write_in
        finally:
            with anyio.CancelScope(shield=True):
                await _end(process, stdin, stdout)
            tasks.cancel_scope.cancel()


async def _end(
    process: anyio.abc.Process, stdin: anyio.abc.ByteSendStream, stdout: anyio.abc.ByteReceiveStream
) -> None:
    """Closes the process's stdin, waits a grace period, then ends its whole group."""
    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await stdin.aclose()
    with anyio.move_on_after(_EXIT_GRACE_S):
        # polled: wait() also waits for the pipes, which a child of the server may hold
        while process.returncode is None:  # noqa: ASYNC110
            await anyio.sleep(0.02)
    if process.returncode is None:
        await terminate_posix_process_tree(process, _EXIT_GRACE_S)
    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await stdout.aclose()


def _message(line: bytes) -> SessionMessage | Exception:
    """One line a server wrote, as a JSON-RPC message, or the error that says why not."""
    try:
        return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as error:
        return error


STDIO = "stdio"
"""The session key of the one session a stdio server has."""
_MAX_IMAGE_BYTES = 8 * 1024 * 1024


Handler = Callable[[str, str, dict[str, Any]], Awaitable[Reply]]
"""Runs a call: (session key, tool name, arguments) -> reply."""


def _server(
    name: str, instructions: str | None, functions: Sequence[FunctionSpec], handler: Handler
) -> Server[Any]:
    tools = [
        mcp_types.Tool(
            name=f.name,
            description=f.description,
            input_schema=dict(f.parameters or {"type": "object", "properties": {}}),
        )
        for f in functions
    ]

    async def list_tools(ctx: Any, params: Any) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: Any, params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        request = ctx.request
        key = STDIO if request is None else request.headers.get("mcp-session-id", STDIO)
        reply = await handler(key, params.name, dict(params.arguments or {}))
        content: list[Any] = [mcp_types.TextContent(type="text", text=reply.text)]
        for image in reply.images:
            data = image.read_bytes()[: _MAX_IMAGE_BYTES + 1]
            if len(data) <= _MAX_IMAGE_BYTES:
                encoded = base64.b64encode(data).decode()
                content.append(
                    mcp_types.ImageContent(type="image", data=encoded, mime_type="image/png")
                )
        return mcp_types.CallToolResult(content=content, is_error=reply.is_error)

    return Server(name, instructions=instructions, on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio(
    name: str, instructions: str | None, functions: Sequence[FunctionSpec], handler: Handler
) -> None:
    """Serves the functions over this process's stdin and stdout until stdin closes."""
    server = _server(name, instructions, functions, handler)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def serve_http(
    name: str,
    instructions: str | None,
    functions: Sequence[FunctionSpec],
    handler: Handler,
    *,
    host: str,
    port: int,
    on_session_end: Callable[[str], Awaitable[None]],
    idle_timeout: float,
) -> None:
    """Serves the functions over streamable HTTP at `http://host:port/mcp` until cancelled;
    `on_session_end` hears the key of each session a client ends (HTTP DELETE).
    """
    server = _server(name, instructions, functions, handler)
    inner = server.streamable_http_app(host=host, session_idle_timeout=idle_timeout)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await inner(scope, receive, send)
        if scope["type"] == "http" and scope["method"] == "DELETE":
            headers = dict(scope.get("headers") or [])
            key = headers.get(b"mcp-session-id")
            if key is not None:
                await on_session_end(key.decode("latin-1"))

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()
