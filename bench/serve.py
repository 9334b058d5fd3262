"""`harmony-agent serve` against the same runs in-process, on the tiny checkpoint.

(a) Overhead: the tiny weather task (a call to `get_weather`, its result, the answer) run by
    the config's agent in-process, and through `harmony-agent serve` with the openai SDK's
    async client; alternated, median of the repeats. Both reach the same `vllm serve`.
(b) Concurrency: 1, 8 and 32 clients at once, each asking the weather through the server;
    wall time, runs per second and the median latency.

Start a server first, e.g. on the tiny checkpoint on the CPU:

    VLLM_CPU_KVCACHE_SPACE=1 python -m vllm.entrypoints.openai.api_server --model CHECKPOINT \
        --served-model-name tiny-gpt-oss --skip-tokenizer-init --max-model-len 4096 \
        --gpu-memory-utilization 0.3 --enable-prompt-tokens-details --port 8000

Run: .venv/bin/python bench/serve.py http://127.0.0.1:8000/v1 tiny-gpt-oss
     (writes bench/results/serve.md)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import yaml
from harmony_agent.config import load_config
from harmony_agent.tiny._tasks import CURRENT_DATE, INSTRUCTIONS
from openai import AsyncOpenAI

REPEATS = 7
CONCURRENCY = (1, 8, 32)
MODEL = "tiny"
QUESTION = "What's the weather in Paris?"


def write_config(directory: Path, base_url: str, served_model: str) -> Path:
    """The tiny agent (get_weather on the server, python shown) on the HTTP engine."""
    config = {
        "engine": {"kind": "http", "base_urls": [base_url], "model": served_model},
        "reasoning": "low",
        "instructions": INSTRUCTIONS,
        "current_date": CURRENT_DATE,
        "tools": {"functions": ["harmony_agent.tiny:get_weather"], "python": {}},
        "limits": {"max_turns": 4, "max_tokens": 96},
        "sampling": {"temperature": 0},
    }
    path = directory / f"{MODEL}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@contextlib.contextmanager
def serving(config: Path, directory: Path) -> Iterator[str]:
    """`harmony-agent serve CONFIG` on a free port; yields its /v1 URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    executable = Path(sys.executable).parent / "harmony-agent"
    command = [
        str(executable),
        "serve",
        str(config),
        "--port",
        str(port),
        "--store",
        str(directory / "store.sqlite"),
        "--max-running",
        "64",
    ]
    process = subprocess.Popen(command, cwd=directory, stderr=subprocess.DEVNULL)
    try:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            if process.poll() is not None:
                raise RuntimeError("the server exited")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def through_server(client: AsyncOpenAI) -> tuple[float, str]:
    start = time.perf_counter()
    response = await client.responses.create(model=MODEL, input=QUESTION)
    return time.perf_counter() - start, response.output_text


async def main(base_url: str, served_model: str) -> str:
    load = os.getloadavg()[0]
    directory = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    config_path = write_config(directory, base_url, served_model)
    config = load_config(config_path)
    in_process: list[float] = []
    served: list[float] = []
    answers: set[str] = set()
    with serving(config_path, directory) as url:
        client = AsyncOpenAI(base_url=url, api_key="unused", max_retries=0, timeout=600)
        async with config.open() as agent, client:
            await agent.arun(QUESTION)  # warm both paths: the prefix cache, the connections
            await through_server(client)
            for _ in range(REPEATS):
                start = time.perf_counter()
                result = await agent.arun(QUESTION)
                in_process.append(time.perf_counter() - start)
                answers.add(result.final_text)
                seconds, text = await through_server(client)
                served.append(seconds)
                answers.add(text)
            rows = []
            for clients in CONCURRENCY:
                start = time.perf_counter()
                runs = await asyncio.gather(*(through_server(client) for _ in range(clients)))
                wall = time.perf_counter() - start
                latencies = [seconds for seconds, _ in runs]
                answers.update(text for _, text in runs)
                rows.append(
                    f"| {clients} | {wall:.2f} | {clients / wall:.2f} | "
                    f"{statistics.median(latencies):.2f} | {max(latencies):.2f} |"
                )
    inside, outside = statistics.median(in_process), statistics.median(served)
    return "\n".join(
        [
            "# harmony-agent serve against the same runs in-process",
            "",
            f"Engine: `vllm serve` of the tiny checkpoint ({served_model}); machine: "
            f"{platform.machine()}, {os.cpu_count()} cores shared by vLLM, the server and the "
            f"clients, load average {load:.1f} at the start, Python {platform.python_version()}.",
            "Command: `.venv/bin/python bench/serve.py URL tiny-gpt-oss` (see the script's "
            "docstring for the server command).",
            f"Answers seen: {sorted(answers)}",
            "",
            f"## (a) One weather run (2 generations, 1 tool call), median of {REPEATS}, alternated",
            "",
            "| path | wall s (median) | min | max |",
            "|---|---|---|---|",
            f"| in-process `agent.arun` | {inside:.3f} | {min(in_process):.3f} | "
            f"{max(in_process):.3f} |",
            f"| through `harmony-agent serve` (openai SDK) | {outside:.3f} | {min(served):.3f} | "
            f"{max(served):.3f} |",
            "",
            f"Wall-time ratio server / in-process: **{outside / inside:.3f}** (target: at most "
            "1.05).",
            "",
            "## (b) Concurrent clients through the server (one weather run each)",
            "",
            "| clients | wall s | runs/s | median latency s | max latency s |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


if __name__ == "__main__":
    report = asyncio.run(main(sys.argv[1], sys.argv[2]))
    out = Path(__file__).parent / "results" / "serve.md"
    out.write_text(report, encoding="utf-8")
    print(report)
