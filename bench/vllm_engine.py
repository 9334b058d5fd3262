"""The agent loop on in-process vLLM: its overhead, and many runs on one engine.

(a) Overhead: each tiny-checkpoint task is run by the agent loop on `VLLMEngine`, recording
every prompt and every generated token; then the same prompts are sent straight to vLLM's
`AsyncLLM.generate` with the same greedy settings, generating the same tokens. The ratio of
the wall times is what the runtime adds (prompt rendering, parsing, tool routing, the tools
themselves: `get_weather` and an in-process stand-in for python that evaluates `print(A*B)`).

(b) Concurrency: 1, 4 and 16 runs at once on one engine, and 16 runs of which one calls a
`get_weather` that takes 5 s: throughput should scale with the batch, and the slow tool must
not hold up the other runs' generation.

Run from the repository root: .venv/bin/python -m bench.vllm_engine  (trains or loads the tiny
checkpoint first; writes bench/results/vllm_engine.md)
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import platform
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from harmony_agent import Agent, tool
from harmony_agent._harmony import STOP_TOKENS
from harmony_agent.engines import Engine, VLLMEngine
from harmony_agent.tiny import TinyCheckpoint, build_checkpoint, tiny_agent, tiny_engine_settings
from harmony_agent.tiny._tasks import ProductPython, Task, WeatherTask
from harmony_agent.tools import ToolNamespace
from harmony_agent.tools.python import PythonTool

from tests.e2e.recording import RecordingEngine

REPEATS = 5
SLOW_TOOL_S = 5.0
RESULTS = Path(__file__).parent / "results" / "vllm_engine.md"


def _agent(engine: Engine, task: Task, python: ProductPython, *, slow: bool = False) -> Agent:
    temperature = task.temperature_c if isinstance(task, WeatherTask) else 0
    agent = tiny_agent(engine, python=python, temperature_c=temperature)
    if not slow:
        return agent

    @tool
    async def get_weather(city: str) -> dict[str, object]:
        """Gets the current weather in a city.

        Args:
            city: City name, e.g. "Paris".
        """
        await asyncio.sleep(SLOW_TOOL_S)
        return {"city": city, "temperature_c": temperature}

    return dataclasses.replace(agent, tools=[get_weather, python])


async def _raw_generate(engine: VLLMEngine, prompts: Sequence[list[int]], tokens: int) -> float:
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt
    from vllm.sampling_params import RequestOutputKind

    llm = engine.llm
    if llm is None:
        raise RuntimeError("the engine is not started")
    started = time.perf_counter()
    generated = 0
    for index, prompt in enumerate(prompts):
        params = SamplingParams(
            temperature=0.0,
            max_tokens=96,
            stop_token_ids=list(STOP_TOKENS),
            ignore_eos=True,
            detokenize=False,
            skip_special_tokens=False,
            output_kind=RequestOutputKind.DELTA,
        )
        request = f"raw-{time.monotonic_ns()}-{index}"
        async for output in llm.generate(TokensPrompt(prompt_token_ids=prompt), params, request):
            generated += len(output.outputs[0].token_ids)
    if generated != tokens:
        raise RuntimeError(f"raw generation made {generated} tokens, the loop {tokens}")
    return time.perf_counter() - started


async def overhead(engine: VLLMEngine, tasks: Sequence[Task], python: ProductPython) -> list[str]:
    ratios = []
    loop_times = []
    raw_times = []
    for _ in range(REPEATS):
        for task in tasks:
            recording = RecordingEngine(engine)
            started = time.perf_counter()
            result = await _agent(recording, task, python).arun(task.question)
            loop_s = time.perf_counter() - started
            if result.final_text != task.expected_answer():
                raise RuntimeError(f"{task} answered {result.final_text!r}")
            tokens = sum(len(c) for c in recording.completions)
            raw_s = await _raw_generate(engine, recording.prompts, tokens)
            ratios.append(loop_s / raw_s)
            loop_times.append(loop_s)
            raw_times.append(raw_s)
    return [
        f"- runs: {len(ratios)} ({len(tasks)} tasks x {REPEATS})",
        f"- agent loop per run: median {statistics.median(loop_times) * 1000:.1f} ms",
        f"- raw AsyncLLM.generate, same prompts and tokens: median "
        f"{statistics.median(raw_times) * 1000:.1f} ms",
        f"- ratio loop / raw: median {statistics.median(ratios):.3f}, "
        f"max {max(ratios):.3f} (target <= 1.05)",
    ]


async def _batch(
    engine: VLLMEngine, tasks: Sequence[Task], python: ProductPython, slow: int | None
) -> tuple[float, list[float], int]:
    async def one(index: int, task: Task) -> tuple[float, int]:
        recording = RecordingEngine(engine)
        started = time.perf_counter()
        result = await _agent(recording, task, python, slow=index == slow).arun(task.question)
        if result.final_text != task.expected_answer():
            raise RuntimeError(f"{task} answered {result.final_text!r}")
        return time.perf_counter() - started, sum(len(c) for c in recording.completions)

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one(i, t) for i, t in enumerate(tasks)))
    wall = time.perf_counter() - started
    others = [seconds for i, (seconds, _) in enumerate(outcomes) if i != slow]
    return wall, others, sum(tokens for _, tokens in outcomes)


async def concurrency(
    engine: VLLMEngine, tasks: Sequence[Task], python: ProductPython
) -> list[str]:
    lines = [
        "| runs at once | wall s | runs/s | generated tok/s | median run s | max run s |",
        "|---|---|---|---|---|---|",
    ]
    for size in (1, 4, 16):
        wall, times, tokens = await _batch(engine, tasks[:size], python, None)
        lines.append(
            f"| {size} | {wall:.2f} | {size / wall:.2f} | {tokens / wall:.0f} | "
            f"{statistics.median(times):.2f} | {max(times):.2f} |"
        )
    weather = next(t for t in tasks if isinstance(t, WeatherTask))
    mixed = [weather, *[t for t in tasks if t is not weather][:15]]
    wall, others, tokens = await _batch(engine, mixed, python, 0)
    verdict = (
        "all finished while the slow tool still slept: it did not stall their generation"
        if max(others) < SLOW_TOOL_S
        else "some waited past the slow tool's sleep"
    )
    lines += [
        "",
        f"16 runs, run 0's get_weather sleeps {SLOW_TOOL_S:.0f} s: wall {wall:.2f} s; the other "
        f"15 runs took median {statistics.median(others):.2f} s, max {max(others):.2f} s "
        f"({verdict}).",
    ]
    return lines


async def measure(checkpoint: TinyCheckpoint, python: ProductPython) -> list[str]:
    """Both parts on one engine: the overhead lines, then the concurrency lines."""
    tasks = list(checkpoint.verified[:16])
    async with VLLMEngine(tiny_engine_settings(checkpoint.path)) as engine:
        await _agent(engine, tasks[0], python).arun(tasks[0].question)  # warm-up
        overhead_lines = await overhead(engine, tasks[:4], python)
        concurrency_lines = await concurrency(engine, tasks, python)
    return [
        "## (a) Overhead of the agent loop",
        "",
        *overhead_lines,
        "",
        "## (b) Concurrent runs on one engine",
        "",
        *concurrency_lines,
    ]


def main() -> None:
    namespace: ToolNamespace = PythonTool().namespace
    checkpoint = build_checkpoint(python=namespace)
    lines = asyncio.run(measure(checkpoint, ProductPython(namespace)))
    RESULTS.write_text(
        "\n".join(
            [
                "# In-process vLLM: loop overhead and concurrent runs",
                "",
                "Command: `.venv/bin/python -m bench.vllm_engine`",
                f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, vLLM on the CPU, "
                "tiny gpt-oss checkpoint in float32.",
                "",
                *lines,
                "",
            ]
        )
    )
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
