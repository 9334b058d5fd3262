"""HTTPEngine against real local HTTP servers: streaming, fallbacks, failures, retries, replicas."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import Any

import pytest
from harmony_agent import ConfigError, EngineError, EngineUnavailable, InvalidEngineOutput
from harmony_agent._harmony import STOP_TOKENS, encode_completion
from harmony_agent.engines import (
    FinishReason,
    HTTPEngine,
    HTTPSettings,
    SamplingParams,
    TokenChunk,
)

from .completions_server import MODEL, CompletionsServer, Failure, Reply, Stream

PROMPT = encode_completion("<|start|>user<|message|>Hi<|end|><|start|>assistant")
ANSWER = "<|channel|>final<|message|>Hello there!<|return|>"
GREEDY = SamplingParams(temperature=0.0)


def settings(*urls: str, **options: Any) -> HTTPSettings:
    """Settings with short timeouts and backoff, so failure tests take milliseconds."""
    values: dict[str, Any] = {
        "base_urls": urls,
        "model": MODEL,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 5.0,
    }
    values.update(options)
    return HTTPSettings(**values)


def generate(engine: HTTPEngine, max_tokens: int = 100) -> AsyncGenerator[TokenChunk, None]:
    return engine.generate(
        PROMPT, stop_token_ids=STOP_TOKENS, max_tokens=max_tokens, sampling=GREEDY
    )


async def collect(engine: HTTPEngine, max_tokens: int = 100) -> list[TokenChunk]:
    async with aclosing(generate(engine, max_tokens)) as stream:
        return [chunk async for chunk in stream]


def tokens(chunks: Sequence[TokenChunk]) -> list[int]:
    return [token for chunk in chunks for token in chunk.token_ids]


def dead_url() -> str:
    """The API root of a loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


async def test_streams_token_ids_and_ends_with_the_stop_token() -> None:
    async with (
        CompletionsServer([Stream.of(ANSWER, cached_tokens=3)]) as server,
        HTTPEngine(settings(server.base_url, extra_body={"priority": 2})) as engine,
    ):
        chunks = await collect(engine)

    assert tokens(chunks) == encode_completion(ANSWER)
    assert chunks[-1].token_ids[-1] == 200002
    assert chunks[-1].finish_reason is FinishReason.STOP
    assert chunks[-1].cached_prompt_tokens == 3
    assert all(chunk.finish_reason is None for chunk in chunks[:-1])
    request = server.requests[0]
    assert request["prompt"] == PROMPT
    assert request["stop_token_ids"] == list(STOP_TOKENS)
    assert request["return_token_ids"] is True
    assert request["skip_special_tokens"] is False
    assert request["include_stop_str_in_output"] is True
    assert request["stream"] is True
    assert request["temperature"] == 0.0
    assert "seed" not in request
    assert request["priority"] == 2


async def test_a_json_schema_is_sent_as_structured_outputs() -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    async with (
        CompletionsServer([Stream.of(ANSWER)]) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        assert engine.supports_json_schema
        sampling = SamplingParams(temperature=0.0, json_schema=schema)
        stream = engine.generate(
            PROMPT, stop_token_ids=STOP_TOKENS, max_tokens=9, sampling=sampling
        )
        async with aclosing(stream):
            assert [chunk async for chunk in stream]
        with pytest.raises(ValueError, match="structured_outputs"):
            settings(server.base_url, extra_body={"structured_outputs": {"json": schema}})
    assert server.requests[0]["structured_outputs"] == {"json": schema}


async def test_text_only_server_is_reencoded_with_harmony() -> None:
    completion = "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
    completion += '{"city": "Paris"}<|call|>'
    server = CompletionsServer([Stream.of(completion)], returns_token_ids=False)
    async with server, HTTPEngine(settings(server.base_url)) as engine:
        chunks = await collect(engine)

    assert tokens(chunks) == encode_completion(completion)
    assert chunks[-1].token_ids[-1] == 200012
    assert chunks[-1].finish_reason is FinishReason.STOP


async def test_stops_at_the_first_stop_token_even_if_the_server_goes_on() -> None:
    ids = encode_completion(ANSWER) + encode_completion("<|start|>assistant<|channel|>final")
    events = [
        b'data: {"choices": [{"index": 0, "text": "", "token_ids": %s}]}\n\n' % str(ids).encode(),
        b"data: [DONE]\n\n",
    ]
    async with (
        CompletionsServer([Stream(events=events)]) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        chunks = await collect(engine)

    assert tokens(chunks) == encode_completion(ANSWER)
    assert chunks[-1].finish_reason is FinishReason.STOP
    assert chunks[-1].cached_prompt_tokens is None


async def test_max_tokens_ends_with_length() -> None:
    async with (
        CompletionsServer([Stream.of(ANSWER)]) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        chunks = await collect(engine, max_tokens=4)

    assert tokens(chunks) == encode_completion(ANSWER)[:4]
    assert chunks[-1].finish_reason is FinishReason.LENGTH


async def test_reads_the_context_window_and_checks_the_model() -> None:
    async with (
        CompletionsServer(max_model_len=1234) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        assert engine.max_model_len == 1234
    given = HTTPEngine(settings("http://127.0.0.1:9/v1", max_model_len=99))
    assert given.max_model_len == 99
    await given.aclose()
    async with CompletionsServer() as server:
        with pytest.raises(ConfigError, match="fake-gpt-oss"):
            async with HTTPEngine(settings(server.base_url, model="other")):
                pass


async def test_api_key_is_sent() -> None:
    server = CompletionsServer([Stream.of(ANSWER)], api_key="s3cret")
    async with server:
        with pytest.raises(EngineError, match="API key"):
            async with HTTPEngine(settings(server.base_url)):
                pass
        async with HTTPEngine(settings(server.base_url, api_key="s3cret")) as engine:
            assert tokens(await collect(engine)) == encode_completion(ANSWER)


async def test_server_down_is_engine_unavailable() -> None:
    engine = HTTPEngine(settings(dead_url(), max_model_len=100, max_retries=2))
    with pytest.raises(EngineUnavailable, match=r"no replica .* answered: .*ConnectError"):
        await collect(engine)
    await engine.aclose()


async def test_500_then_ok_is_retried() -> None:
    script: list[Reply] = [Failure(500, "engine hiccup"), Failure(503), Stream.of(ANSWER)]
    async with (
        CompletionsServer(script) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        assert tokens(await collect(engine)) == encode_completion(ANSWER)
    assert len(server.requests) == 3


async def test_persistent_500_gives_up_with_the_servers_message() -> None:
    async with (
        CompletionsServer([Failure(500, "engine hiccup")] * 3) as server,
        HTTPEngine(settings(server.base_url, max_retries=2)) as engine,
    ):
        with pytest.raises(EngineError, match=r"after 3 attempts.*HTTP 500: engine hiccup"):
            await collect(engine)


async def test_429_waits_as_retry_after_says() -> None:
    script: list[Reply] = [
        Failure(429, "slow down", headers={"Retry-After": "0.3"}),
        Stream.of(ANSWER),
    ]
    async with (
        CompletionsServer(script) as server,
        HTTPEngine(settings(server.base_url, backoff_max_s=5.0)) as engine,
    ):
        assert tokens(await collect(engine)) == encode_completion(ANSWER)
    first, second = server.arrivals
    assert second - first >= 0.3 * 0.99


async def test_a_lone_replica_is_retried_after_a_growing_backoff() -> None:
    script: list[Reply] = [Failure(502), Failure(502), Stream.of(ANSWER)]
    options = {"backoff_initial_s": 0.1, "backoff_max_s": 1.0, "replica_cooldown_s": 0.0}
    async with (
        CompletionsServer(script) as server,
        HTTPEngine(settings(server.base_url, **options)) as engine,
    ):
        assert tokens(await collect(engine)) == encode_completion(ANSWER)
    first, second, third = server.arrivals
    # jitter keeps half to all of 0.1 s, then of 0.2 s
    assert second - first >= 0.05 * 0.99
    assert third - second >= 0.1 * 0.99


@pytest.mark.parametrize(
    "value", ["nan", "NaN", "inf", "1e999", "Wed, 21 Oct 2015 07:28:00 -0000", "Mon, 99 Foo"]
)
async def test_a_retry_after_that_is_not_a_number_of_seconds_waits_at_most_the_cap(
    value: str,
) -> None:
    script: list[Reply] = [Failure(503, headers={"retry-after": value}), Stream.of(ANSWER)]
    async with (
        CompletionsServer(script) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        async with asyncio.timeout(10):  # sleeping NaN seconds never ended
            assert tokens(await collect(engine)) == encode_completion(ANSWER)


async def test_400_is_not_retried() -> None:
    script = [Failure(400, "This model's maximum context length is 8192 tokens")]
    async with (
        CompletionsServer(script) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        with pytest.raises(EngineError, match="HTTP 400: This model's maximum context length"):
            await collect(engine)
    assert len(server.requests) == 1


async def test_a_base_url_without_the_api_root_gets_a_hint() -> None:
    async with CompletionsServer() as server:
        root = server.base_url.removesuffix("/v1")
        async with HTTPEngine(settings(root, max_model_len=100)) as engine:
            with pytest.raises(EngineError, match=r"HTTP 404: Not Found \(is the base URL"):
                await collect(engine)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([b"data: {not json\n\n"], "not JSON"),
        ([b'data: {"choices": [{"index": 0, "text": "", "token_ids": [1, 2]}]}\n\n'], "ended"),
        ([b"hello\n\n", b"data: [DONE]\n\n"], "without a finish reason"),
        ([b'data: {"choices": [{"token_ids": ["a"]}]}\n\n'], "not integers"),
        ([b'data: {"error": {"message": "Internal server error", "code": 500}}\n\n'], "Internal"),
    ],
)
async def test_malformed_stream_is_a_clear_error(events: list[bytes], message: str) -> None:
    async with (
        CompletionsServer([Stream(events=events)]) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        with pytest.raises(EngineError, match=message):
            await asyncio.wait_for(collect(engine), timeout=5)
    assert len(server.requests) == 1


async def test_silent_server_times_out() -> None:
    reply = Stream.of(ANSWER, hang_after=0)
    async with (
        CompletionsServer([reply]) as server,
        HTTPEngine(settings(server.base_url, read_timeout_s=0.2)) as engine,
    ):
        with pytest.raises(EngineError, match=r"sent no token for 0.2 s \(after 0 tokens\)"):
            await collect(engine)


async def test_closing_the_stream_closes_the_connection() -> None:
    async with (
        CompletionsServer([Stream.of(ANSWER, hang_after=3)]) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        async with aclosing(generate(engine)) as stream:
            first = await anext(stream)
        await asyncio.wait_for(server.client_left.wait(), timeout=5)
        assert first.token_ids
        assert engine.replicas[0].outstanding == 0


async def test_cancelling_the_consumer_closes_the_connection() -> None:
    async with (
        CompletionsServer([Stream.of(ANSWER, hang_after=3)]) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        streaming = asyncio.Event()

        async def consume() -> None:
            async with aclosing(generate(engine)) as stream:
                async for _ in stream:
                    streaming.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(streaming.wait(), timeout=5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(server.client_left.wait(), timeout=5)
        assert engine.replicas[0].outstanding == 0


async def test_without_run_affinity_requests_go_to_the_replica_with_fewest_outstanding() -> None:
    hanging = [Stream.of(ANSWER, hang_after=1)] * 4
    async with (
        CompletionsServer(hanging) as first,
        CompletionsServer(hanging) as second,
        HTTPEngine(settings(first.base_url, second.base_url, run_affinity=False)) as engine,
    ):

        async def open_stream() -> tuple[AsyncGenerator[TokenChunk, None], int]:
            """Starts a stream; returns it and the index of the replica that serves it."""
            before = [replica.outstanding for replica in engine.replicas]
            stream = generate(engine)
            await anext(stream)
            after = [replica.outstanding for replica in engine.replicas]
            return stream, [b - a for a, b in zip(before, after, strict=True)].index(1)

        opened = [await open_stream() for _ in range(4)]
        assert sorted(index for _, index in opened) == [0, 0, 1, 1]
        assert (first.in_flight, second.in_flight) == (2, 2)
        for stream, index in opened:
            if index == 0:
                await stream.aclose()
        assert [replica.outstanding for replica in engine.replicas] == [0, 2]
        reopened = [await open_stream() for _ in range(2)]
        assert [index for _, index in reopened] == [0, 0]
        for stream, _ in [*opened, *reopened]:
            await stream.aclose()
        assert [replica.outstanding for replica in engine.replicas] == [0, 0]


async def test_without_run_affinity_a_dead_replica_is_skipped() -> None:
    live = CompletionsServer([Stream.of(ANSWER)] * 6)
    async with (
        live,
        HTTPEngine(
            settings(dead_url(), live.base_url, max_retries=1, run_affinity=False)
        ) as engine,
    ):
        for _ in range(6):
            assert tokens(await collect(engine)) == encode_completion(ANSWER)
        dead = engine.replicas[0]
        assert dead.failing_until > time.monotonic()
        assert len(live.requests) == 6


async def test_a_closed_engine_refuses_to_generate() -> None:
    engine = HTTPEngine(settings(dead_url(), max_model_len=10))
    await engine.aclose()
    with pytest.raises(EngineError, match="closed"):
        await collect(engine)


MIB = 1 << 20
BOUND = MIB + 8 * len(PROMPT)
"""The longest line or event of a stream for PROMPT: 1 MiB and room for the prompt's ids."""
TOKEN_EVENT = b'data: {"choices": [{"index": 0, "text": "", "token_ids": [75]}]}\n\n'


@pytest.mark.parametrize(
    "keep_alive",
    [b": keep-alive\n\n", b'data: {"choices": []}\n\n', b"event: ping\n\n"],
    ids=["comments", "events without tokens", "fields without data"],
)
async def test_a_stream_without_tokens_times_out_whatever_else_it_sends(keep_alive: bytes) -> None:
    reply = Stream(events=itertools.repeat(keep_alive), token_delay=0.01)
    async with (
        CompletionsServer([reply]) as server,
        HTTPEngine(settings(server.base_url, read_timeout_s=0.3)) as engine,
    ):
        async with asyncio.timeout(10):  # the keep-alives went on forever
            with pytest.raises(EngineError, match=r"sent no token for 0.3 s \(after 0 tokens\)"):
                await collect(engine)
        await asyncio.wait_for(server.client_left.wait(), timeout=5)


async def test_tokens_keep_a_slow_stream_alive() -> None:
    reply = Stream.of(ANSWER, token_delay=0.05)
    async with (
        CompletionsServer([reply]) as server,
        HTTPEngine(settings(server.base_url, read_timeout_s=0.3)) as engine,
    ):
        chunks = await collect(engine)
    assert tokens(chunks) == encode_completion(ANSWER)  # 0.5 s in all, 0.05 s per token


async def test_an_endless_line_fails_once_it_passes_the_bound() -> None:
    line = itertools.chain(
        [b"data: "], itertools.repeat(b"x" * 65536, 64 * MIB // 65536), [b"\n\n"]
    )
    async with (
        CompletionsServer([Stream(events=line)]) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        with pytest.raises(InvalidEngineOutput, match=f"a line of more than {BOUND} bytes"):
            await collect(engine)
        await asyncio.wait_for(server.client_left.wait(), timeout=5)  # not all 64 MiB was read


async def test_an_event_of_endless_data_lines_fails_once_it_passes_the_bound() -> None:
    lines = itertools.repeat(b"data: " + b"x" * 1000 + b"\n", 64 * 1024)
    async with (
        CompletionsServer([Stream(events=lines)]) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        with pytest.raises(InvalidEngineOutput, match=f"an event of more than {BOUND} bytes"):
            await collect(engine)
        await asyncio.wait_for(server.client_left.wait(), timeout=5)


async def test_the_bound_on_events_leaves_room_for_vllms_echo_of_the_prompt() -> None:
    prompt = [200006] * 200_000  # 1.6 MB of ids in the first event
    async with (
        CompletionsServer([Stream.of(ANSWER)]) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        stream = engine.generate(prompt, stop_token_ids=STOP_TOKENS, max_tokens=99, sampling=GREEDY)
        async with aclosing(stream):
            chunks = [chunk async for chunk in stream]
    assert tokens(chunks) == encode_completion(ANSWER)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (b'data: {"choices": [{"token_ids": [%s]}]}\n\n' % (b"1" * 5000), "not JSON"),
        (b"data: %s\n\n" % (b"[" * 100_000 + b"]" * 100_000), "not JSON"),
    ],
    ids=["a 5000-digit number", "nested 100000 deep"],
)
async def test_json_that_python_cannot_read_is_invalid_output(event: bytes, message: str) -> None:
    async with (
        CompletionsServer([Stream(events=[event])]) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        with pytest.raises(InvalidEngineOutput, match=message):
            await collect(engine)


async def test_a_compressed_stream_is_refused() -> None:
    reply = Stream.of(ANSWER, headers={"content-encoding": "gzip"})
    async with (
        CompletionsServer([reply]) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        with pytest.raises(EngineError, match="compressed"):
            await collect(engine)
    assert server.requests and "identity" in server.request_headers[0]["accept-encoding"]


async def test_a_huge_error_body_is_read_only_in_part() -> None:
    async with (
        CompletionsServer([Failure(400, "x" * 64 * MIB)]) as server,
        HTTPEngine(settings(server.base_url)) as engine,
    ):
        with pytest.raises(EngineError, match="HTTP 400") as caught:
            await collect(engine)
        await asyncio.wait_for(server.client_left.wait(), timeout=5)
    assert len(str(caught.value)) < 3000


async def test_a_huge_list_of_models_is_refused() -> None:
    entry = b'{"id": "m", "object": "model"},'
    body = itertools.chain([b'{"data": ['], itertools.repeat(entry * 2048, 2048), [b"]}"])
    async with CompletionsServer(models_body=body) as server:
        with pytest.raises(EngineError, match="more than 1048576 bytes"):
            await HTTPEngine(settings(server.base_url)).__aenter__()
        await asyncio.wait_for(server.client_left.wait(), timeout=5)


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"HTTP/1.1 200 OK\r\nx-slow: ", "did not answer"),
        (b"HTTP/1.1 500 X\r\ncontent-length: 100000\r\n\r\n", "could not be read"),
    ],
    ids=["headers", "error body"],
)
async def test_an_answer_sent_byte_by_byte_does_not_hold_the_request_forever(
    head: bytes, message: str
) -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head)
        with contextlib.suppress(ConnectionError):
            while not reader.at_eof():
                writer.write(b"a")
                await writer.drain()
                await asyncio.sleep(0.05)

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    options = {"read_timeout_s": 0.3, "connect_timeout_s": 0.5, "max_retries": 0}
    async with server:
        url = f"http://127.0.0.1:{port}/v1"
        async with HTTPEngine(settings(url, max_model_len=100, **options)) as engine:
            async with asyncio.timeout(10):  # each byte restarted httpx's read timeout
                with pytest.raises(EngineError, match=message):
                    await collect(engine)


KEY = "Zq7Xw9vB4nM2pL8rT5yU"
"""An API key no pattern recognises: only knowing it hides it."""


def leaks(text: str, secret: str = KEY) -> bool:
    """Whether `text` shows `secret`, or a start of it long enough to help guess it."""
    return secret[:8] in text


@pytest.mark.parametrize(
    "reply",
    [
        Failure(400, "invalid request from ", echo="Authorization"),
        Failure(400, "x" * 1990 + KEY),  # cut inside the key
        Failure(503, f"overloaded; your key is {KEY}"),  # retried, then given up
        Stream(events=[b'data: {"error": {"message": "bad key %s"}}\n\n' % KEY.encode()]),
        Stream(events=[b"data: <%s%s>\n\n" % (b"x" * 190, KEY.encode())]),  # not JSON, cut
        Stream(events=[b'data: {"choices": ["%s"]}\n\n' % KEY.encode()]),
    ],
    ids=["error body", "cut error body", "retried", "error event", "bad event", "bad choice"],
)
async def test_a_server_echoing_the_api_key_does_not_leak_it_in_errors(reply: Reply) -> None:
    async with (
        CompletionsServer([reply] * 2, api_key=KEY) as server,
        HTTPEngine(settings(server.base_url, api_key=KEY, max_retries=1)) as engine,
    ):
        with pytest.raises(EngineError) as caught:
            await collect(engine)
    assert not leaks(str(caught.value)), str(caught.value)
    assert "[REDACTED]" in str(caught.value)


async def test_model_names_echoing_the_key_do_not_leak_it() -> None:
    body = b'{"data": [{"id": "model-%s"}]}' % KEY.encode()
    async with CompletionsServer(models_body=[body]) as server:
        with pytest.raises(ConfigError, match="does not serve") as caught:
            await HTTPEngine(settings(server.base_url, api_key=KEY)).__aenter__()
    assert not leaks(str(caught.value))


async def test_a_password_in_a_base_url_does_not_show_in_errors() -> None:
    url = dead_url().replace("http://", "http://user:pa55-word-secret@")
    engine = HTTPEngine(settings(url, max_model_len=100, max_retries=0))
    with pytest.raises(EngineUnavailable, match="answered") as caught:
        await collect(engine)
    await engine.aclose()
    assert not leaks(str(caught.value), "pa55-word-secret")
