"""The self-test: the tiny checkpoint's two trajectories through real vLLM and real tools.

It checks a whole install without a GPU or the real weights: the harmony prompts the runtime
renders, vLLM generating from token ids, the parser, the function and python tools, and the
loop feeding results back, all in one greedy run per task whose answer is known in advance.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harmony_agent._result import RunResult
from harmony_agent.engines._vllm import VLLMEngine, VLLMSettings
from harmony_agent.tiny._checkpoint import TinyCheckpoint, build_checkpoint
from harmony_agent.tiny._tasks import ProductTask, Task, WeatherTask, tiny_agent
from harmony_agent.tools import BuiltinTool

__all__ = ["SelftestCase", "SelftestReport", "aselftest", "pick_tasks", "tiny_engine_settings"]


@dataclass(frozen=True)
class SelftestCase:
    """One task of the self-test and how its run went."""

    task: Task
    result: RunResult
    seconds: float

    @property
    def passed(self) -> bool:
        """Whether the run called its tool once and answered exactly as expected."""
        return (
            self.result.final_text == self.task.expected_answer()
            and len(self.result.tool_calls) == 1
            and self.result.tool_calls[0].error is None
        )


@dataclass(frozen=True)
class SelftestReport:
    """The checkpoint the self-test used, the engine's start time and every case."""

    checkpoint: TinyCheckpoint
    engine_start_seconds: float
    cases: tuple[SelftestCase, ...]

    @property
    def passed(self) -> bool:
        """Whether every case passed."""
        return all(case.passed for case in self.cases)


def tiny_engine_settings(checkpoint: Path, *, structured_outputs: bool = True) -> VLLMSettings:
    """Settings of vLLM for the tiny checkpoint on a CPU: float32 (greedy output then matches the
    trained model token for token), a short context, no graph capture; structured outputs on
    unless turned off (loading the tokenizer for them takes vLLM's processes tens of seconds).
    """
    return VLLMSettings(
        model=str(checkpoint),
        dtype="float32",
        max_model_len=2048,
        gpu_memory_utilization=0.3,
        kv_cache_memory_bytes=1 << 30,
        enforce_eager=True,
        structured_outputs=structured_outputs,
    )


def pick_tasks(checkpoint: TinyCheckpoint) -> tuple[WeatherTask, ProductTask]:
    """The first verified held-out weather task and product task of `checkpoint`."""
    weather = next(t for t in checkpoint.verified if isinstance(t, WeatherTask))
    product = next(t for t in checkpoint.verified if isinstance(t, ProductTask))
    return weather, product


async def aselftest(
    python: BuiltinTool,
    *,
    cache_dir: Path | None = None,
    tasks: Sequence[Task] | None = None,
) -> SelftestReport:
    """Builds (or loads) the tiny checkpoint for `python`'s namespace, starts vLLM on it and
    runs `tasks` (default: one verified weather and one verified product task).
    """
    checkpoint = await asyncio.to_thread(
        build_checkpoint, python=python.namespace, cache_dir=cache_dir
    )
    started = time.monotonic()
    async with VLLMEngine(tiny_engine_settings(checkpoint.path)) as engine:
        start_seconds = time.monotonic() - started
        cases = []
        for task in tasks or pick_tasks(checkpoint):
            temperature = task.temperature_c if isinstance(task, WeatherTask) else 0
            agent = tiny_agent(engine, python=python, temperature_c=temperature)
            began = time.monotonic()
            result = await agent.arun(task.question)
            cases.append(SelftestCase(task, result, time.monotonic() - began))
    return SelftestReport(checkpoint, start_seconds, tuple(cases))
