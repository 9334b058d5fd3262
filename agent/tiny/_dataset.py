"""Training and held-out trajectories, produced by running the real agent loop.

Each trajectory is one run of `tiny_agent` on a `ScriptedEngine` whose script is what the model
should write. The engine records every prompt the loop sends; the last prompt plus the last
completion holds the whole run, and the spans the model generated are the training targets.
Every run of the tiny agent starts with the same system and developer messages: the preamble.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from harmony_agent import _harmony
from harmony_agent.engines import ScriptedEngine
from harmony_agent.tiny._progress import (
    BuildProgress,
    BuildStage,
    ProgressCallback,
    ignore_progress,
)
from harmony_agent.tiny._tasks import ProductPython, ProductTask, Task, WeatherTask, tiny_agent
from harmony_agent.tools import ToolNamespace

__all__ = [
    "CITIES",
    "Dataset",
    "Trajectory",
    "record_dataset",
    "sample_task",
    "sample_tasks",
]

CITIES: tuple[str, ...] = (
    "Paris", "Tokyo", "Berlin", "Lima", "Cairo", "Oslo", "Rome", "Madrid", "Lisbon", "Vienna",
    "Prague", "Dublin", "Athens", "Warsaw", "Seoul", "Delhi", "Nairobi", "Sydney", "Toronto",
    "Chicago", "Boston", "Denver", "Miami", "Austin", "Quito", "Bogota", "Santiago", "Havana",
    "Hanoi", "Manila", "Jakarta", "Bangkok", "Helsinki", "Zurich", "Geneva", "Munich",
    "New York", "Los Angeles", "San Francisco", "Buenos Aires", "Cape Town", "Hong Kong",
)  # fmt: skip
"""The cities weather questions ask about."""
_REPORT_EVERY = 64
"""How many runs are recorded between two progress reports."""


@dataclass(frozen=True)
class Trajectory:
    """One run as tokens: `spans` are the [start, end) ranges the model generated (its turns)."""

    task: Task
    tokens: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Dataset:
    """Trajectories that all start with `preamble` (the system and developer messages)."""

    preamble: tuple[int, ...]
    trajectories: tuple[Trajectory, ...]


def sample_task(rng: random.Random) -> Task:
    """A random weather or product task with a random question template."""
    if rng.random() < 0.4:
        city = rng.choice(CITIES)
        template = rng.choice(WeatherTask.QUESTIONS)
        return WeatherTask(template.format(city=city), city, rng.randint(-9, 39))
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    template = rng.choice(ProductTask.QUESTIONS)
    return ProductTask(template.format(a=a, b=b), a, b)


def sample_tasks(*, seed: int, size: int, exclude: Collection[Task] = ()) -> tuple[Task, ...]:
    """`size` distinct random tasks, none of them in `exclude`, the same for the same seed."""
    rng, seen = random.Random(seed), set(exclude)
    tasks: list[Task] = []
    while len(tasks) < size:
        task = sample_task(rng)
        if task not in seen:
            seen.add(task)
            tasks.append(task)
    return tuple(tasks)


def record_dataset(
    tasks: Sequence[Task], *, python: ToolNamespace, progress: ProgressCallback | None = None
) -> Dataset:
    """Runs each task through the agent loop; `python` is the namespace of the python tool the
    runtime shows the model. `progress` hears every 64 runs.
    """
    return asyncio.run(_record_dataset(tasks, python, progress or ignore_progress))


async def _record_dataset(
    tasks: Sequence[Task], python: ToolNamespace, progress: ProgressCallback
) -> Dataset:
    trajectories: list[Trajectory] = []
    for task in tasks:
        if len(trajectories) % _REPORT_EVERY == 0:
            progress(BuildProgress(BuildStage.RECORD, len(trajectories), len(tasks)))
        trajectories.append(await _record(task, python))
    progress(BuildProgress(BuildStage.RECORD, len(trajectories), len(tasks)))
    preamble = tiny_agent(ScriptedEngine([]), python=ProductPython(python)).render_preamble()
    for trajectory in trajectories:
        if trajectory.tokens[: len(preamble)] != tuple(preamble):
            raise RuntimeError(f"the run of {trajectory.task} does not start with the preamble")
    return Dataset(tuple(preamble), tuple(trajectories))


async def _record(task: Task, python: ToolNamespace) -> Trajectory:
    completions = [_harmony.encode_completion(text) for text in task.completions()]
    engine = ScriptedEngine(completions)
    temperature = task.temperature_c if isinstance(task, WeatherTask) else 0
    agent = tiny_agent(engine, python=ProductPython(python), temperature_c=temperature)
    result = await agent.arun(task.question)
    if result.final_text != task.expected_answer():
        raise RuntimeError(f"the scripted run of {task} answered {result.final_text!r}")
    engine.assert_consumed()
    tokens = engine.prompts[-1] + completions[-1]
    spans = []
    for prompt, completion in zip(engine.prompts, completions, strict=True):
        end = len(prompt) + len(completion)
        if tokens[:end] != prompt + completion:
            raise RuntimeError(f"a prompt of {task} does not extend the one before and its output")
        spans.append((len(prompt), end))
    return Trajectory(task, tuple(tokens), tuple(spans))
