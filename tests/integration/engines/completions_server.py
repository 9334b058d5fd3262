"""A small OpenAI-compatible completions server on 127.0.0.1: real sockets, scripted replies.

It speaks enough HTTP/1.1 (keep-alive, chunked streaming) for httpx, and plays its `script`
one reply per `/v1/completions` request, the way vLLM streams: token ids (or text only, like a
server without `return_token_ids`; the first event repeats the prompt's ids, as vLLM's does),
the stop token included, a finish reason, then a usage event and `[DONE]`. It honours the request's `stop_token_ids` and `max_tokens`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from harmony_agent._harmony import decode, encode_completion

MODEL = "fake-gpt-oss"


@dataclass(frozen=True)
class Stream:
    """A 200 event stream of `token_ids`; `hang_after` tokens in, it stops sending and waits
    for the client to go away. `events`, if given, are sent as they are instead (each in one
    HTTP chunk; an endless iterable streams until the client leaves). `headers` are added to
    the response's.
    """

    token_ids: Sequence[int] = ()
    cached_tokens: int = 0
    hang_after: int | None = None
    events: Iterable[bytes] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    token_delay: float = 0.0

    @classmethod
    def of(cls, text: str, **options: Any) -> Stream:
        """A stream of the tokens of harmony `text` (special tokens spelled out)."""
        return cls(tuple(encode_completion(text)), **options)


@dataclass(frozen=True)
class Failure:
    """An HTTP error answer, with vLLM's error body; `echo` names a request header whose value
    the message ends with (as careless servers quote what they were sent).
    """

    status: int
    message: str = "scripted failure"
    headers: Mapping[str, str] = field(default_factory=dict)
    echo: str | None = None


Reply = Stream | Failure


class CompletionsServer:
    """Serves `/v1/models` and `/v1/completions` on a free loopback port."""

    def __init__(
        self,
        script: Sequence[Reply] = (),
        *,
        returns_token_ids: bool = True,
        max_model_len: int = 8192,
        api_key: str | None = None,
        models_body: Iterable[bytes] | None = None,
    ) -> None:
        self.script: deque[Reply] = deque(script)
        self.returns_token_ids = returns_token_ids
        self.max_model_len = max_model_len
        self.api_key = api_key
        self.models_body = models_body
        """If given, `/v1/models` answers with these pieces of a body instead."""
        self.requests: list[dict[str, Any]] = []
        """The JSON body of every completion request, in order of arrival."""
        self.request_headers: list[dict[str, str]] = []
        """The headers of every completion request (names in lower case), in order."""
        self.arrivals: list[float] = []
        """When each completion request arrived (`time.monotonic()`)."""
        self.in_flight = 0
        self.client_left = asyncio.Event()
        """Set when a client closed a stream or a body before it was finished."""
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def base_url(self) -> str:
        """The API root, e.g. `http://127.0.0.1:PORT/v1`."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def __aenter__(self) -> CompletionsServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()  # the handlers see the end of their stream and return
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        try:
            while await self._answer_one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._handlers.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answers one request; False when the client closed the connection."""
        head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
        if not head:
            return False
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        try:
            await self._respond(method, path, headers, body, reader, writer)
        except ConnectionError:
            self.client_left.set()  # the client left before the answer was complete
            raise
        return True

    async def _respond(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            await _send_json(writer, 401, {"error": {"message": "bad key", "code": 401}})
        elif method == "GET" and path == "/v1/models" and self.models_body is not None:
            await self._send_chunked(
                writer, b"content-type: application/json\r\n", self.models_body
            )
        elif method == "GET" and path == "/v1/models":
            data = [{"id": MODEL, "object": "model", "max_model_len": self.max_model_len}]
            await _send_json(writer, 200, {"object": "list", "data": data})
        elif method == "POST" and path == "/v1/completions":
            request = json.loads(body)
            self.requests.append(request)
            self.request_headers.append(dict(headers))
            self.arrivals.append(time.monotonic())
            self.in_flight += 1
            try:
                await self._complete(request, headers, reader, writer)
            finally:
                self.in_flight -= 1
        else:
            await _send_json(writer, 404, {"error": {"message": "Not Found", "code": 404}})

    async def _complete(
        self,
        request: dict[str, Any],
        request_headers: Mapping[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        reply = self.script.popleft()
        if isinstance(reply, Failure):
            message = reply.message
            if reply.echo is not None:
                message += request_headers.get(reply.echo.lower(), "")
            error = {"error": {"message": message, "type": "Error", "code": reply.status}}
            await _send_json(writer, reply.status, error, reply.headers)
            return
        headers = "".join(f"{name}: {value}\r\n" for name, value in reply.headers.items())
        head = b"content-type: text/event-stream; charset=utf-8\r\n" + headers.encode()
        events = reply.events if reply.events is not None else self._events(request, reply)
        await self._send_chunked(writer, head, events, reply, reader)

    async def _send_chunked(
        self,
        writer: asyncio.StreamWriter,
        head: bytes,
        pieces: Iterable[bytes],
        reply: Stream | None = None,
        reader: asyncio.StreamReader | None = None,
    ) -> None:
        """Sends a 200 answer with headers `head`, one HTTP chunk per piece, as `reply` says."""
        writer.write(b"HTTP/1.1 200 OK\r\n%stransfer-encoding: chunked\r\n\r\n" % head)
        for sent, piece in enumerate(pieces):
            if reply is not None and reply.hang_after == sent and reader is not None:
                await reader.read()  # returns when the client closes the connection
                raise ConnectionResetError("the client left")
            if reply is not None and reply.token_delay:
                await asyncio.sleep(reply.token_delay)
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    def _events(self, request: Mapping[str, Any], reply: Stream) -> list[bytes]:
        """The events vLLM would send for `reply` under the request's stop tokens and limit."""
        stops = set(request.get("stop_token_ids") or ())
        tokens: list[int] = []
        finish = "stop"
        for token in reply.token_ids:
            tokens.append(token)
            if token in stops:
                break
            if len(tokens) == request["max_tokens"]:
                finish = "length"
                break
        with_ids = self.returns_token_ids and request.get("return_token_ids")
        events: list[dict[str, Any]] = []
        for position, token in enumerate(tokens):
            last = position == len(tokens) - 1
            choice: dict[str, Any] = {
                "index": 0,
                "text": decode([token]),
                "finish_reason": finish if last else None,
                "stop_reason": token if last and token in stops else None,
            }
            if with_ids:
                choice["token_ids"] = [token]
                if position == 0:  # vLLM's first event repeats the prompt
                    choice["prompt_token_ids"] = request["prompt"]
            events.append({"id": "cmpl-1", "model": MODEL, "choices": [choice]})
        if request.get("stream_options", {}).get("include_usage"):
            usage: dict[str, Any] = {
                "prompt_tokens": len(request["prompt"]),
                "completion_tokens": len(tokens),
                "total_tokens": len(request["prompt"]) + len(tokens),
                "prompt_tokens_details": {"cached_tokens": reply.cached_tokens},
            }
            events.append({"id": "cmpl-1", "model": MODEL, "choices": [], "usage": usage})
        return [b"data: %s\n\n" % json.dumps(e).encode() for e in events] + [b"data: [DONE]\n\n"]


async def _send_json(
    writer: asyncio.StreamWriter,
    status: int,
    payload: object,
    headers: Mapping[str, str] | None = None,
) -> None:
    body = json.dumps(payload).encode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    writer.write(
        f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}\r\n".encode()
    )
    for start in range(0, len(body), 1 << 16):
        writer.write(body[start : start + (1 << 16)])
        await writer.drain()
