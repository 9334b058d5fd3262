"""An engine that streams from OpenAI-compatible `/v1/completions` servers such as `vllm serve`.

The prompt goes out as token ids and the generated token ids come back in a server-sent event
stream (vLLM's `return_token_ids`; servers that only return text have it re-encoded). Requests
are spread over one or more replicas, every request of a run to the same one (its prefix cache
holds the run's earlier turns; see `ReplicaPool` and `run_key`). A request that fails
before its first token (no connection, 429, 5xx) is retried on another replica or after a
backoff; once tokens were streamed, a failure raises `EngineError` and nothing is re-sent.

What a server sends is bounded before it is buffered: responses are asked for and read
uncompressed, error bodies are read up to `_ERROR_BODY_BYTES`, the model list up to
`_MODELS_BYTES`, and every line and event of a stream up to `_EVENT_BYTES` plus
`_PROMPT_ID_BYTES` per prompt token (vLLM's first event repeats the prompt's ids). Time is
bounded too: a response's headers must arrive within `connect_timeout_s + read_timeout_s`, and
a stream that carries no token (or text) for `read_timeout_s` fails, whatever else it sends.
Servers may quote what they were sent: the errors the engine raises have the API key, the
passwords in the base URLs and anything shaped like a key hidden.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx
from harmony_agent._errors import ConfigError, EngineError, EngineUnavailable, HarmonyAgentError
from harmony_agent._redact import Redactor
from harmony_agent.engines._base import SamplingParams, TokenChunk
from harmony_agent.engines._completion_stream import CompletionReader, parse_event
from harmony_agent.engines._http_settings import HTTPSettings
from harmony_agent.engines._replicas import Replica, ReplicaPool
from harmony_agent.engines._run_key import run_key
from harmony_agent.engines._sse import sse_data

__all__ = ["HTTPEngine"]

_ERROR_BODY_LIMIT = 2000
"""Characters of an error response kept for the exception message."""
_ERROR_BODY_BYTES = 65536
"""Bytes of an error response read (the rest is not)."""
_MODELS_BYTES = 1 << 20
"""The largest `/models` answer read."""
_EVENT_BYTES = 1 << 20
"""The largest line or event of a stream, plus `_PROMPT_ID_BYTES` per prompt token."""
_PROMPT_ID_BYTES = 8
"""Room per prompt token for an event that repeats the prompt's ids (`201087, `)."""
_MODELS_SHOWN = 20
"""Served models named in the error for a model the servers do not serve."""


class _Retry(Exception):
    """An attempt failed in a way that another attempt may not."""

    def __init__(self, reason: str, *, unreachable: bool, after: float | None = None) -> None:
        super().__init__(reason)
        self.unreachable = unreachable
        self.after = after


class HTTPEngine:
    """Generates through OpenAI-compatible `/v1/completions` servers (vLLM, SGLang, ...).

    Use it as `async with HTTPEngine(settings) as engine:`; entering reads the context window
    from the server (unless the settings give it) and checks that the model is served. Many
    runs may share one engine; closing a stream early closes its HTTP connection, which makes
    vLLM abort the request. For example, two replicas of `vllm serve openai/gpt-oss-20b
    --enable-prompt-tokens-details` (the flag makes vLLM report prefix-cache hits)::

        settings = HTTPSettings(
            base_urls=["http://gpu-1:8000/v1", "http://gpu-2:8000/v1"],
            model="openai/gpt-oss-20b",
        )
        async with HTTPEngine(settings) as engine:
            result = await Agent(engine=engine, tools=[get_weather]).arun("Weather in Oslo?")
    """

    def __init__(self, settings: HTTPSettings) -> None:
        self.settings = settings
        self._redactor = Redactor(_secrets(settings))
        self._pool = ReplicaPool(
            settings.base_urls,
            cooldown_s=settings.replica_cooldown_s,
            max_outstanding=settings.replica_max_outstanding,
        )
        headers = {"Accept-Encoding": "identity"}
        if settings.api_key is not None:
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )
        self._answer_timeout_s = settings.connect_timeout_s + settings.read_timeout_s
        self._max_model_len = settings.max_model_len
        self._model_checked = settings.max_model_len is not None
        self._model_lock = asyncio.Lock()
        self._closed = False

    @property
    def max_model_len(self) -> int | None:
        """The context window: from the settings, or from the server once it was asked."""
        return self._max_model_len

    @property
    def supports_json_schema(self) -> bool:
        """True: a JSON Schema constraint is sent as vLLM's `structured_outputs`; the server
        must have loaded a tokenizer (no `--skip-tokenizer-init`), else it refuses the request.
        """
        return True

    @property
    def replicas(self) -> Sequence[Replica]:
        """The replicas, with their requests in flight (for monitoring)."""
        return self._pool.replicas

    async def __aenter__(self) -> HTTPEngine:
        try:
            await self._check_model()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the connections; later `generate` calls raise `EngineError`."""
        self._closed = True
        await self._client.aclose()

    async def generate(
        self,
        prompt_tokens: Sequence[int],
        *,
        stop_token_ids: Sequence[int],
        max_tokens: int,
        sampling: SamplingParams,
    ) -> AsyncGenerator[TokenChunk, None]:
        """Streams the tokens a server generates after `prompt_tokens`."""
        body = self._request_body(list(prompt_tokens), stop_token_ids, max_tokens, sampling)
        if self._closed:
            raise EngineError("the HTTPEngine is closed")
        await self._check_model()
        reader = CompletionReader(stop_token_ids, self._redactor, prompt_tokens=len(body["prompt"]))
        max_bytes = _EVENT_BYTES + _PROMPT_ID_BYTES * len(body["prompt"])
        async with (
            self._redacted_errors(),
            self._response(body, self._key(prompt_tokens)) as (replica, response),
            aclosing(sse_data(response.aiter_raw(), max_bytes=max_bytes)) as events,
        ):
            loop = asyncio.get_running_loop()
            wait = self.settings.read_timeout_s
            deadline = loop.time() + wait
            while not reader.complete:
                try:
                    async with asyncio.timeout_at(deadline):
                        data = await anext(events, None)
                except (TimeoutError, httpx.ReadTimeout) as error:
                    if reader.finished:
                        break  # all tokens are in; only the usage report did not come
                    raise EngineError(
                        f"{replica.url} sent no token for {wait:g} s "
                        f"(after {reader.generated} tokens)"
                    ) from error
                except httpx.HTTPError as error:
                    raise EngineError(
                        f"the stream from {replica.url} broke after {reader.generated} tokens: "
                        f"{_describe(error)}"
                    ) from error
                if data is None or data == "[DONE]":
                    break
                received = reader.received
                tokens = reader.feed(parse_event(data, self._redactor))
                if tokens:
                    yield TokenChunk(tuple(tokens))
                if reader.received > received:
                    deadline = loop.time() + wait
            yield reader.last_chunk()

    def _request_body(
        self,
        prompt: list[int],
        stop_token_ids: Sequence[int],
        max_tokens: int,
        sampling: SamplingParams,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            **self.settings.extra_body,
            "model": self.settings.model,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
            "stop_token_ids": list(stop_token_ids),
            "include_stop_str_in_output": True,
            "skip_special_tokens": False,
            "return_token_ids": True,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
        }
        if sampling.top_k is not None:
            body["top_k"] = sampling.top_k
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if sampling.json_schema is not None:
            body["structured_outputs"] = {"json": dict(sampling.json_schema)}
        return body

    def _key(self, prompt_tokens: Sequence[int]) -> bytes | None:
        """The run a prompt belongs to, for the replica pool; None without run affinity."""
        return run_key(prompt_tokens) if self.settings.run_affinity else None

    @asynccontextmanager
    async def _response(
        self, body: dict[str, Any], key: bytes | None
    ) -> AsyncIterator[tuple[Replica, httpx.Response]]:
        """Sends the request of the run `key` until a replica answers 200, retrying what may
        succeed later.
        """
        failures: list[_Retry] = []
        tried: set[str] = set()
        for attempt in range(self.settings.max_retries + 1):
            if failures and not self._pool.has_healthy(avoid=tried):
                await asyncio.sleep(self._backoff(attempt - 1, failures[-1].after))
            replica = self._pool.acquire(key, avoid=tried)
            tried.add(replica.url)
            try:
                response = await self._send(replica, body)
            except _Retry as failure:
                self._pool.release(replica)
                self._pool.mark_failed(replica)
                failures.append(failure)
                continue
            except BaseException:
                self._pool.release(replica)
                raise
            self._pool.mark_healthy(replica)
            try:
                yield replica, response
            finally:  # the request is over once nobody reads it, even if closing is cut short
                self._pool.release(replica)
                await response.aclose()
            return
        reasons = "; ".join(str(f) for f in failures)
        if all(f.unreachable for f in failures):
            raise EngineUnavailable(f"no replica of {self.settings.model!r} answered: {reasons}")
        raise EngineError(f"the request failed after {len(failures)} attempts: {reasons}")

    async def _send(self, replica: Replica, body: dict[str, Any]) -> httpx.Response:
        """Sends one attempt; returns a streaming 200 response or raises `_Retry`/`EngineError`."""
        url = f"{replica.url}/completions"
        request = self._client.build_request("POST", url, json=body)
        try:
            async with asyncio.timeout(self._answer_timeout_s):
                response = await self._client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise _Retry(f"{url}: {_describe(error)}", unreachable=True) from error
        except (httpx.TimeoutException, TimeoutError) as error:
            raise EngineError(f"{url} did not answer: {_describe(error)}") from error
        except httpx.TransportError as error:
            raise _Retry(f"{url}: {_describe(error)}", unreachable=False) from error
        if response.status_code == httpx.codes.OK:
            content_type = response.headers.get("content-type", "")
            encoding = response.headers.get("content-encoding", "identity")
            if content_type.startswith("text/event-stream") and encoding == "identity":
                return response
            await response.aclose()
            if encoding != "identity":
                raise EngineError(f"{url} compressed its answer ({encoding!r}) though asked not to")
            raise EngineError(f"{url} answered {content_type!r}, not a stream of events")
        detail = await _error_detail(response, self._redactor, self._answer_timeout_s)
        status = response.status_code
        if status == httpx.codes.TOO_MANY_REQUESTS or status >= 500:
            after = _retry_after(response.headers.get("retry-after"))
            raise _Retry(f"{url}: HTTP {status}: {detail}", unreachable=False, after=after)
        route_missing = status == httpx.codes.NOT_FOUND and "Not Found" in detail
        hint = (
            " (is the base URL the API root, e.g. `http://host:8000/v1`?)" if route_missing else ""
        )
        raise EngineError(f"{url} refused the request: HTTP {status}: {detail}{hint}")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt `attempt` (0 first): the server's Retry-After,
        else exponential with jitter.
        """
        cap = self.settings.backoff_max_s
        if retry_after is not None:
            return min(retry_after, cap)
        delay = min(cap, self.settings.backoff_initial_s * 2.0**attempt)
        return delay * random.uniform(0.5, 1.0)

    @contextlib.asynccontextmanager
    async def _redacted_errors(self) -> AsyncIterator[None]:
        """Hides the secrets in the message of an error raised inside (in place: its type,
        traceback and cause stay), wherever its text came from.
        """
        try:
            yield
        except HarmonyAgentError as error:
            error.args = tuple(
                self._redactor.text(arg) if isinstance(arg, str) else arg for arg in error.args
            )
            raise

    async def _check_model(self) -> None:
        """Reads the served models once: the context window, and whether the model is served."""
        if self._model_checked:
            return
        async with self._model_lock, self._redacted_errors():
            if self._model_checked:
                return
            served = await self._served_models()
            if served is not None:
                if self.settings.model not in served:
                    names = sorted(served)
                    shown = ", ".join(map(repr, names[:_MODELS_SHOWN]))
                    if len(names) > _MODELS_SHOWN:
                        shown += f" and {len(names) - _MODELS_SHOWN} more"
                    raise ConfigError(
                        f"the server does not serve the model {self.settings.model!r}; it "
                        f"serves {shown} (set `model` to one of them)"
                    )
                self._max_model_len = served[self.settings.model]
            self._model_checked = True

    async def _served_models(self) -> dict[str, int | None] | None:
        """The models the first reachable replica lists, with their context windows; None if
        it does not list them.
        """
        failures = []
        for replica in self._pool.replicas:
            url = f"{replica.url}/models"
            try:
                async with (
                    asyncio.timeout(self._answer_timeout_s),
                    self._client.stream("GET", url) as response,
                ):
                    status = response.status_code
                    raw, whole = await _read_up_to(response, _MODELS_BYTES)
            except (httpx.TransportError, TimeoutError) as error:
                failures.append(f"{url}: {_describe(error)}")
                continue
            if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
                raise EngineError(f"{url} refused the API key: HTTP {status}")
            if not whole:
                raise EngineError(f"{url} answered with more than {_MODELS_BYTES} bytes")
            try:
                entries = json.loads(raw)["data"]
                return {
                    str(entry["id"]): _positive_int(entry.get("max_model_len")) for entry in entries
                }
            except (ValueError, KeyError, TypeError, RecursionError):
                return None
        raise EngineUnavailable(f"no replica answered: {'; '.join(failures)}")


async def _error_detail(response: httpx.Response, redactor: Redactor, timeout_s: float) -> str:
    """The server's error message (vLLM's `{"error": {"message": ...}}`), else the body's start,
    with its secrets hidden; at most `_ERROR_BODY_BYTES` of the body are read, within
    `timeout_s`.
    """
    try:
        async with asyncio.timeout(timeout_s):
            raw, _ = await _read_up_to(response, _ERROR_BODY_BYTES)
    except (httpx.HTTPError, TimeoutError) as error:
        return f"(the error body could not be read: {_describe(error)})"
    finally:
        await response.aclose()
    text = raw.decode("utf-8", errors="replace")
    try:
        message = json.loads(text)["error"]["message"]
    except (ValueError, KeyError, TypeError, RecursionError):
        message = text
    return redactor.excerpt(str(message), _ERROR_BODY_LIMIT)


async def _read_up_to(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of the (uncompressed) body, and whether that was all of it."""
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > limit:
            return bytes(body[:limit]), False
    return bytes(body), True


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date); None if absent or not a
    number of seconds (NaN), a date without a zone counting as UTC.
    """
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return None if math.isnan(seconds) else max(seconds, 0.0)


def _secrets(settings: HTTPSettings) -> list[str]:
    """What the servers are sent that no error may show: the API key, and the URLs' passwords."""
    passwords = [httpx.URL(url).password for url in settings.base_urls]
    key = [] if settings.api_key is None else [settings.api_key.get_secret_value()]
    return key + [password for password in passwords if password]


def _positive_int(value: object) -> int | None:
    return value if type(value) is int and value > 0 else None


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
