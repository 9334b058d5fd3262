"""The ASGI application (FastAPI on Starlette, served by uvicorn: the stack vLLM uses). The
only module that imports them: without the `server` extra nothing of it is imported.

Routes: POST /v1/responses, GET and DELETE /v1/responses/{id} (stored responses),
POST /v1/chat/completions, GET /v1/models, GET /health, GET /metrics. Every error is in
OpenAI's shape; a client's mistake is a 4xx, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from harmony_agent import Agent
from harmony_agent.server._chat import chat_chunks, prepare_chat, run_chat
from harmony_agent.server._errors import APIError, response_not_found
from harmony_agent.server._requests import ChatRequest, ResponsesRequest, parse_request
from harmony_agent.server._responses import prepare_response, run_response, stream_response
from harmony_agent.server._service import Service
from harmony_agent.server._settings import ServerSettings
from harmony_agent.server._store import Store
from starlette.exceptions import HTTPException

__all__ = ["App", "OpenAgents", "create_app", "serve"]

App = FastAPI
"""The ASGI application."""
OpenAgents = Callable[[], contextlib.AbstractAsyncContextManager[Mapping[str, Agent]]]


def create_app(open_agents: OpenAgents, settings: ServerSettings) -> FastAPI:
    """The application serving the agents `open_agents` opens (by model name) for as long as
    it runs.
    """
    state: dict[str, Service] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.store, settings.retention).open()
        try:
            async with open_agents() as agents:
                state["service"] = Service(
                    agents,
                    store,
                    max_running=settings.max_running,
                    max_waiting=settings.max_waiting,
                )
                yield
        finally:
            store.close()

    app = FastAPI(title="harmony-agent", lifespan=lifespan, docs_url=None, redoc_url=None)
    keys = [key.get_secret_value().encode() for key in settings.api_keys]

    def service() -> Service:
        return state["service"]

    @app.exception_handler(APIError)
    async def api_error(request: Request, error: APIError) -> Response:
        if "service" in state:
            state["service"].metrics.error(request.url.path, error.status)
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        body = APIError(error.status_code, str(error.detail)).body()
        return JSONResponse(body, status_code=error.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        body = APIError(500, f"internal error: {type(error).__name__}", code="server_error").body()
        return JSONResponse(body, status_code=500)

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Response:
        if keys and request.url.path.startswith("/v1/"):
            given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
            if not _known_key(given, keys):
                error = APIError(401, "a valid API key is needed", code="invalid_api_key")
                return JSONResponse(error.body(), status_code=401)
        response: Response = await call_next(request)
        return response

    @app.post("/v1/responses", response_model=None)
    async def responses(request: Request) -> Response:
        body = parse_request(ResponsesRequest, await _body(request, settings.max_body_bytes))
        prepared = await prepare_response(service(), body)
        if body.stream:
            return await _event_stream(
                request, service(), stream_response(service(), prepared), named=True
            )
        return await _unless_gone(request, service(), run_response(service(), prepared))

    @app.get("/v1/responses/{response_id}")
    async def stored_response(response_id: str) -> dict[str, Any]:
        stored = await service().store.response(response_id)
        if stored is None:
            raise response_not_found(response_id)
        return stored.body

    @app.delete("/v1/responses/{response_id}")
    async def delete_response(response_id: str) -> dict[str, Any]:
        if not await service().store.delete(response_id):
            raise response_not_found(response_id)
        return {"id": response_id, "object": "response", "deleted": True}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: Request) -> Response:
        body = parse_request(ChatRequest, await _body(request, settings.max_body_bytes))
        prepared = await prepare_chat(service(), body)
        if body.stream:
            return await _event_stream(
                request, service(), chat_chunks(service(), prepared), named=False
            )
        return await _unless_gone(request, service(), run_chat(service(), prepared))

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        created = int(time.time())
        return {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": created, "owned_by": "harmony-agent"}
                for name in sorted(service().agents)
            ],
        }

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> str:
        return service().metrics.render()

    return app


def serve(open_agents: OpenAgents, settings: ServerSettings) -> None:
    """Serves the agents until interrupted."""
    import uvicorn

    app = create_app(open_agents, settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", lifespan="on"
    )
    uvicorn.Server(config).run()


def _known_key(given: bytes, keys: list[bytes]) -> bool:
    """Whether `given` is one of `keys`, compared in constant time (every key is compared)."""
    found = False
    for key in keys:
        found |= hmac.compare_digest(given, key)
    return found


async def _body(request: Request, limit: int) -> bytes:
    """The request body, at most `limit` bytes (a 413 beyond)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> APIError:
    return APIError(413, f"the request body is larger than {limit} bytes", code="body_too_large")


async def _unless_gone(
    request: Request, service: Service, run: Coroutine[Any, Any, dict[str, Any]]
) -> Response:
    """The JSON body `run` returns; if the client goes away first, the run is cancelled (its
    run slot freed) and counted, and the answer nobody reads is a 499.
    """
    running = asyncio.ensure_future(run)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({running, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not running.done():
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            service.metrics.cancelled(request.url.path)
    if running.cancelled():
        return Response(status_code=499)
    return JSONResponse(running.result())


async def _disconnected(request: Request) -> None:
    """Returns when the client disconnects (the body is read: what comes next is that)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _event_stream(
    request: Request,
    service: Service,
    events: AsyncIterator[dict[str, Any]],
    *,
    named: bool,
) -> Response:
    """Server-Sent Events of `events`; what fails before the first event is an HTTP error.
    Chat Completions' stream ends with `data: [DONE]`; the Responses stream names each event.
    A client that goes away cancels the stream, and with it the run (counted).
    """
    first = await anext(events)

    async def lines() -> AsyncIterator[bytes]:
        try:
            event: dict[str, Any] | None = first
            while event is not None:
                data = json.dumps(event, separators=(",", ":"))
                prefix = f"event: {event['type']}\n" if named and "type" in event else ""
                yield f"{prefix}data: {data}\n\n".encode()
                event = await anext(events, None)
            if not named:
                yield b"data: [DONE]\n\n"
        except asyncio.CancelledError:
            service.metrics.cancelled(request.url.path)
            raise
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(lines(), media_type="text/event-stream", headers=headers)
