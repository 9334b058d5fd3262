"""HTTPEngine against a real `vllm serve` of the tiny gpt-oss checkpoint on the CPU.

One server for the session (started on a free loopback port); each test opens its own engine.
The assertions are about the protocol: token ids, stop tokens, usage matching the server's own
counters, prompts that extend each other; the weather run checks the trajectory the tiny model
was trained on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from collections.abc import Callable, Sequence
from contextlib import aclosing
from typing import Any

import httpx
import psutil
from harmony_agent import RunResult, StopReason
from harmony_agent._harmony import ASSISTANT_HEADER, STOP_TOKENS
from harmony_agent.engines import (
    FinishReason,
    HTTPEngine,
    HTTPSettings,
    SamplingParams,
    ScriptedEngine,
    TokenChunk,
)
from harmony_agent.tiny import TinyCheckpoint, tiny_agent
from harmony_agent.tiny._selftest import pick_tasks
from harmony_agent.tiny._tasks import WeatherTask
from harmony_agent.tools import BuiltinTool

from tests.e2e.recording import RecordingEngine
from tests.e2e.tools import CITIES, WEATHER_REPORT
from tests.e2e.vllm_server import VLLMServer

GREEDY = SamplingParams(temperature=0.0)
METRICS_TIMEOUT_S = 60.0
_SAMPLE = re.compile(r"^(vllm:[a-z_]+)\{([^}]*)\} (\S+)$", re.MULTILINE)
_FINISHED = re.compile(r'finished_reason="(\w+)"')


def engine_for(server: VLLMServer, **options: Any) -> HTTPEngine:
    return HTTPEngine(
        HTTPSettings(base_urls=[server.base_url], model=server.served_model_name, **options)
    )


async def first_prompt(python_tool: BuiltinTool, question: str) -> list[int]:
    """The prompt the agent sends first for `question`."""
    scripted = ScriptedEngine(["<|channel|>final<|message|>-<|return|>"])
    await tiny_agent(scripted, python=python_tool).arun(question)
    return scripted.prompts[0]


async def server_metrics(server: VLLMServer) -> dict[str, float]:
    """vLLM's Prometheus metrics, summed over their labels except `finished_reason`, which
    becomes part of the name: `vllm:request_success_total[abort]`.
    """
    # a server busy streaming on a loaded 2-core machine has been seen to answer late
    async with httpx.AsyncClient(timeout=METRICS_TIMEOUT_S) as client:
        text = (await client.get(server.base_url.removesuffix("/v1") + "/metrics")).text
    totals: dict[str, float] = {}
    for name, labels, value in _SAMPLE.findall(text):
        reason = _FINISHED.search(labels)
        key = f"{name}[{reason[1]}]" if reason else name
        totals[key] = totals.get(key, 0.0) + float(value)
    return totals


async def metrics_once(
    server: VLLMServer, condition: Callable[[dict[str, float]], bool]
) -> dict[str, float]:
    """The server's metrics once `condition` holds, polled for up to `METRICS_TIMEOUT_S` (they
    may lag the tokens already streamed); the last reading if it never does.
    """
    deadline = time.monotonic() + METRICS_TIMEOUT_S
    metrics = await server_metrics(server)
    while not condition(metrics) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        metrics = await server_metrics(server)
    return metrics


def _open_connections(port: int) -> list[tuple[str, int]]:
    """This process's established TCP connections to `port` (their local addresses)."""
    return [
        (c.laddr.ip, c.laddr.port)
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    ]


async def generate(engine: HTTPEngine, prompt: Sequence[int], max_tokens: int) -> list[TokenChunk]:
    stream = engine.generate(
        prompt, stop_token_ids=STOP_TOKENS, max_tokens=max_tokens, sampling=GREEDY
    )
    async with aclosing(stream):
        return [chunk async for chunk in stream]


async def test_token_ids_stream_until_the_stop_token(
    vllm_server: VLLMServer, python_tool: BuiltinTool
) -> None:
    prompt = await first_prompt(python_tool, "What's the weather in Paris?")
    async with engine_for(vllm_server) as engine:
        assert engine.max_model_len == 4096
        first = await generate(engine, prompt, max_tokens=96)
        again = await generate(engine, prompt, max_tokens=96)
        cut = await generate(engine, prompt, max_tokens=5)

    tokens = [t for chunk in first for t in chunk.token_ids]
    assert tokens
    assert all(chunk.finish_reason is None for chunk in first[:-1])
    assert first[-1].finish_reason is FinishReason.STOP
    assert tokens[-1] in STOP_TOKENS
    assert not set(tokens[:-1]) & set(STOP_TOKENS)
    # greedy decoding repeats itself, and the repeated prompt comes from the prefix cache
    assert [t for chunk in again for t in chunk.token_ids] == tokens
    assert first[-1].cached_prompt_tokens is not None
    assert again[-1].cached_prompt_tokens is not None
    assert again[-1].cached_prompt_tokens > 0
    assert [t for chunk in cut for t in chunk.token_ids] == tokens[:5]
    assert cut[-1].finish_reason is FinishReason.LENGTH


async def test_weather_run_over_http(
    vllm_server: VLLMServer, python_tool: BuiltinTool, tiny: TinyCheckpoint
) -> None:
    weather, _ = pick_tasks(tiny)
    before = await server_metrics(vllm_server)
    async with engine_for(vllm_server) as engine:
        recording = RecordingEngine(engine)
        agent = tiny_agent(recording, python=python_tool, temperature_c=weather.temperature_c)
        result: RunResult = await agent.arun(weather.question)
    after = await server_metrics(vllm_server)

    # usage is what the server itself counted
    assert result.usage.prompt_tokens == sum(len(p) for p in recording.prompts)
    assert result.usage.completion_tokens == sum(len(c) for c in recording.completions)
    served = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}
    assert served["vllm:prompt_tokens_total"] == result.usage.prompt_tokens
    assert served["vllm:generation_tokens_total"] == result.usage.completion_tokens
    assert served["vllm:prompt_tokens_cached_total"] == result.usage.cached_prompt_tokens
    # every generation ended with a stop token, the last token of its stream
    for completion in recording.completions:
        assert completion[-1] in STOP_TOKENS
    # each turn's prompt extends the previous prompt and its output exactly
    for turn in range(1, len(recording.prompts)):
        previous = recording.prompts[turn - 1] + recording.completions[turn - 1]
        assert recording.prompts[turn][: len(previous)] == previous
    # the trajectory: the city copied into the call, the result's temperature into the answer
    assert result.stop_reason is StopReason.FINAL
    (call,) = result.tool_calls
    assert call.call.recipient == "functions.get_weather"
    assert json.loads(call.call.arguments) == {"city": weather.city}
    assert result.final_text == weather.expected_answer()
    assert result.usage.cached_prompt_tokens > 0


async def test_constrained_output_over_http(
    vllm_server: VLLMServer, python_tool: BuiltinTool, tiny: TinyCheckpoint
) -> None:
    weather, _ = pick_tasks(tiny)
    async with engine_for(vllm_server) as engine:
        agent = dataclasses.replace(
            tiny_agent(engine, python=python_tool, temperature_c=weather.temperature_c),
            output_type=WEATHER_REPORT,
            constrain_output=True,
        )
        result = await agent.arun(weather.question)
    # the tiny model answers in prose unless constrained (see the in-process engine's test)
    assert result.output["city"] in CITIES
    assert result.final_text == json.dumps(result.output, separators=(",", ":"))


async def test_concurrent_runs_share_the_server(
    vllm_server: VLLMServer, python_tool: BuiltinTool, tiny: TinyCheckpoint
) -> None:
    tasks = [t for t in tiny.verified if isinstance(t, WeatherTask)][:4]
    async with engine_for(vllm_server) as engine:
        recordings = [RecordingEngine(engine) for _ in tasks]
        results = await asyncio.gather(
            *(
                tiny_agent(recording, python=python_tool, temperature_c=task.temperature_c).arun(
                    task.question
                )
                for recording, task in zip(recordings, tasks, strict=True)
            )
        )
        assert engine.replicas[0].outstanding == 0

    for result, recording, task in zip(results, recordings, tasks, strict=True):
        assert result.final_text == task.expected_answer()
        assert result.usage.turns == len(recording.prompts)
        assert all(completion[-1] in STOP_TOKENS for completion in recording.completions)


async def test_closing_a_stream_closes_its_connection_at_once(vllm_server: VLLMServer) -> None:
    """Closing the stream closes its HTTP connection before `aclose` returns: all a client of
    the OpenAI API can do to abort a request, which vLLM aborts once its HTTP server notices
    (usually within a few tokens; once, on this 2-core machine under the whole suite's load,
    only after the 4000 tokens asked for, so the server's side is not asserted), and the
    server goes on serving.
    """
    running, generated = "vllm:num_requests_running", "vllm:generation_tokens_total"
    before = await server_metrics(vllm_server)
    async with engine_for(vllm_server, extra_body={"ignore_eos": True}) as engine:
        stream = engine.generate(
            ASSISTANT_HEADER, stop_token_ids=[], max_tokens=4000, sampling=GREEDY
        )
        async with aclosing(stream):
            first = await anext(stream)
            streaming = _open_connections(vllm_server.port)
        assert first.finish_reason is None
        assert engine.replicas[0].outstanding == 0
        assert len(_open_connections(vllm_server.port)) == len(streaming) - 1
        stopped = await metrics_once(
            vllm_server, lambda m: m[running] == 0 and m[generated] > before[generated]
        )
        assert stopped[running] == 0
        # the server goes on serving
        assert (await generate(engine, ASSISTANT_HEADER, max_tokens=3))[-1].finish_reason
