"""HTTPEngine against a running `vllm serve`: client overhead and throughput under concurrency.

(a) Overhead: the same greedy request (a bare assistant header, `ignore_eos`, a fixed number of
    tokens) read by a minimal httpx client that only splits the event stream, and by
    `HTTPEngine.generate`; alternated, median of the repeats. The ratio is what the engine adds
    (JSON parsing, token chunks, replica bookkeeping) on top of the wire.
(b) Throughput: 1, 4 and 16 such requests at once through one engine; generated tokens per
    second of wall time.

Start a server first, e.g. on the tiny checkpoint on the CPU:

    VLLM_CPU_KVCACHE_SPACE=1 python -m vllm.entrypoints.openai.api_server --model CHECKPOINT \
        --served-model-name tiny-gpt-oss --skip-tokenizer-init --max-model-len 4096 \
        --gpu-memory-utilization 0.3 --enable-prompt-tokens-details --port 8000

Run: .venv/bin/python bench/http_engine.py http://127.0.0.1:8000/v1 tiny-gpt-oss
     (writes bench/results/http_engine.md)
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import httpx
from harmony_agent._harmony import ASSISTANT_HEADER
from harmony_agent.engines import HTTPEngine, HTTPSettings, SamplingParams

TOKENS = 128
REPEATS = 7
CONCURRENCY = (1, 4, 16)
GREEDY = SamplingParams(temperature=0.0)


async def raw_request(client: httpx.AsyncClient, base_url: str, model: str) -> tuple[float, float]:
    """Wall and client CPU seconds for a minimal client to read the event stream of the request
    the engine sends.
    """
    body = {
        "model": model,
        "prompt": list(ASSISTANT_HEADER),
        "max_tokens": TOKENS,
        "stream": True,
        "stream_options": {"include_usage": True},
        "stop_token_ids": [],
        "include_stop_str_in_output": True,
        "skip_special_tokens": False,
        "return_token_ids": True,
        "temperature": 0.0,
        "top_p": 1.0,
        "ignore_eos": True,
    }
    start, cpu = time.perf_counter(), time.process_time()
    async with client.stream("POST", f"{base_url}/completions", json=body) as response:
        async for line in response.aiter_lines():
            if line == "data: [DONE]":
                break
    return time.perf_counter() - start, time.process_time() - cpu


async def engine_request(engine: HTTPEngine) -> tuple[float, float, int]:
    """Wall and client CPU seconds for `HTTPEngine.generate` to stream one request, and the
    tokens it gave.
    """
    start, cpu = time.perf_counter(), time.process_time()
    count = 0
    async for chunk in engine.generate(
        ASSISTANT_HEADER, stop_token_ids=(), max_tokens=TOKENS, sampling=GREEDY
    ):
        count += len(chunk.token_ids)
    return time.perf_counter() - start, time.process_time() - cpu, count


async def main(base_url: str, model: str) -> str:
    settings = HTTPSettings(base_urls=[base_url], model=model, extra_body={"ignore_eos": True})
    raw_runs: list[tuple[float, float]] = []
    engine_runs: list[tuple[float, float]] = []
    lines = []
    async with httpx.AsyncClient(timeout=300) as client, HTTPEngine(settings) as engine:
        await engine_request(engine)  # warm-up: first-request costs stay out of the numbers
        for _ in range(REPEATS):
            raw_runs.append(await raw_request(client, base_url, model))
            seconds, cpu, count = await engine_request(engine)
            if count != TOKENS:
                raise RuntimeError(f"the server generated {count} tokens, not {TOKENS}")
            engine_runs.append((seconds, cpu))
        raw_wall, raw_cpu = (statistics.median(x) for x in zip(*raw_runs, strict=True))
        wall, cpu = (statistics.median(x) for x in zip(*engine_runs, strict=True))
        lines += [
            f"## (a) Overhead: {TOKENS} greedy tokens, median of {REPEATS}, alternated",
            "",
            "| client | wall s | tokens/s | client CPU ms | client CPU us/token |",
            "|---|---|---|---|---|",
            f"| minimal httpx event-stream reader | {raw_wall:.3f} | {TOKENS / raw_wall:.1f} "
            f"| {raw_cpu * 1e3:.1f} | {raw_cpu * 1e6 / TOKENS:.0f} |",
            f"| HTTPEngine.generate | {wall:.3f} | {TOKENS / wall:.1f} "
            f"| {cpu * 1e3:.1f} | {cpu * 1e6 / TOKENS:.0f} |",
            "",
            f"Wall-time ratio HTTPEngine / minimal client: **{wall / raw_wall:.3f}**; the engine "
            f"adds {(cpu - raw_cpu) * 1e6 / TOKENS:.0f} us of client CPU per token.",
            "",
            f"## (b) Concurrent requests through one engine ({TOKENS} tokens each)",
            "",
            "| requests at once | wall seconds | generated tokens/s |",
            "|---|---|---|",
        ]
        for concurrency in CONCURRENCY:
            start = time.perf_counter()
            results = await asyncio.gather(*(engine_request(engine) for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
            total = sum(count for _, _, count in results)
            lines.append(f"| {concurrency} | {elapsed:.2f} | {total / elapsed:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    url, served = sys.argv[1], sys.argv[2]
    report = asyncio.run(main(url, served))
    header = (
        "# HTTPEngine against vllm serve\n\n"
        f"Server: `{served}` at a loopback URL; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores shared by server and client, load average "
        f"{os.getloadavg()[0]:.1f} at the start, Python {platform.python_version()}.\n"
        f"Command: `.venv/bin/python bench/http_engine.py URL {served}` (see the script's "
        "docstring for the server command).\n\n"
    )
    out = Path(__file__).parent / "results" / "http_engine.md"
    out.write_text(header + report + "\n")
    print(header + report)
