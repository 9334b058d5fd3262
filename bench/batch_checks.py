"""Batch tasks with a Python check: the check as a one-shot program vs in a fresh kernel.

Each task's model (a scripted engine, no compute) writes a file with the python tool and
answers; the check reads the file and compares it with the answer. The same batch runs with
checks as one-shot programs (the default where the host runs them) and with one-shot
programs made unavailable (each check in a fresh kernel, as on a host without bubblewrap),
alternating, `ROUNDS` times; the median round of each is recorded. The agent's own kernel per
task is the same in both (a pool of forked kernels), so the difference is the checks'.

Run from the repository root: .venv/bin/python -m bench.batch_checks
(writes bench/results/batch_checks.md)
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from harmony_agent import Agent
from harmony_agent.batch import BatchRunner, Check, ResultsFile, Status, Task
from harmony_agent.engines import ScriptedEngine
from harmony_agent.sandbox import (
    IsolationUnavailable,
    KernelPool,
    ProgramRunner,
    SandboxConfig,
    check_isolation,
)
from harmony_agent.tools.python import PythonTool

from tests.fakes import final, python_call

TASKS = 40
CONCURRENCY = 2
ROUNDS = 3
CONFIG = SandboxConfig(cell_timeout_s=30)
CHECK = "assert open('answer.txt').read() == final_answer"
RESULTS = Path(__file__).parent / "results" / "batch_checks.md"


async def batch(pool: KernelPool, directory: Path) -> tuple[float, int]:
    """Runs the batch once: (wall seconds, tasks passed)."""
    scripts = {
        f"task-{n}": [python_call(f"open('answer.txt', 'w').write('{n}')"), final(str(n))]
        for n in range(TASKS)
    }
    agent = Agent(
        engine=ScriptedEngine.routed(scripts),
        reasoning="low",
        tools=[PythonTool(CONFIG, pool=pool)],
    )
    tasks = [Task(id=str(n), prompt=f"task-{n}", check=Check(python=CHECK)) for n in range(TASKS)]
    results = ResultsFile(directory / "results.jsonl")
    results.open()
    passed = 0

    def count(outcome: object) -> None:
        nonlocal passed
        passed += getattr(outcome, "status", None) == Status.PASSED

    started = time.perf_counter()
    try:
        await BatchRunner(agent, results, concurrency=CONCURRENCY, on_finished=count).run(tasks)
    finally:
        results.close()
    return time.perf_counter() - started, passed


async def main() -> None:
    """Runs both ways `ROUNDS` times, alternating, and writes the medians."""
    start = ProgramRunner.start

    async def unavailable(runner: ProgramRunner) -> None:
        raise IsolationUnavailable("one-shot programs are off for this measurement")

    starts = {"programs": start, "kernels": unavailable}

    load = os.getloadavg()[0]
    walls: dict[str, list[float]] = {"programs": [], "kernels": []}
    async with KernelPool(CONFIG, size=CONCURRENCY + 1, fork=True) as pool:
        for _ in range(ROUNDS):
            for way in walls:
                ProgramRunner.start = starts[way]  # type: ignore[method-assign,assignment]
                with tempfile.TemporaryDirectory() as directory:
                    wall, passed = await batch(pool, Path(directory))
                assert passed == TASKS, f"{way}: {passed}/{TASKS} passed"
                walls[way].append(wall)
    ProgramRunner.start = start  # type: ignore[method-assign]
    programs, kernels = (statistics.median(walls[way]) for way in ("programs", "kernels"))
    lines = [
        "# Batch tasks with a Python check: one-shot programs vs fresh kernels",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {load:.1f} at start.",
        f"Isolation: {check_isolation(CONFIG).summary()}.",
        f"{TASKS} tasks, {CONCURRENCY} at a time; each task's model (scripted, no compute) "
        "writes a file in its forked kernel and answers, and its check reads the file. Median "
        f"of {ROUNDS} alternating rounds; every task passed in every round.",
        "",
        "| checks run as | batch wall s | ms per task |",
        "|---|---:|---:|",
        f"| one-shot programs (one runner for the batch) | {programs:.2f} | "
        f"{programs / TASKS * 1000:.0f} |",
        f"| a fresh kernel each (the fallback) | {kernels:.2f} | {kernels / TASKS * 1000:.0f} |",
        "",
        f"Programs / kernels: {programs / kernels:.2f}x. The runner's start is in its batch.",
        "",
        "Command: `.venv/bin/python -m bench.batch_checks`",
        "",
    ]
    print("\n".join(lines))
    RESULTS.write_text("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
