"""One-shot programs on a real local Ray cluster in this process: each worker starts its own
`ProgramRunner`; a worker that dies mid-program (killed by a test-only work that wraps
`ProgramWork`: programs themselves run in a pid namespace and cannot reach it) has its program
run again on another worker, or recorded as an error after `max_attempts`; each id once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import ray
from harmony_agent.batch import ResultsFile
from harmony_agent.batch._programs import ProgramOutcome, ProgramTask, ProgramWork
from harmony_agent.batch._ray import RayRunner, RaySettings
from harmony_agent.sandbox import SandboxConfig

DEADLINE_S = 240
"""Far beyond what the programs take: it stops a hang, it times nothing."""

# the workers need not import the tests package: they get this module's code from the driver
_pickle_by_value: Callable[[ModuleType], None] = ray.cloudpickle.register_pickle_by_value
_pickle_by_value(sys.modules[__name__])


@dataclass(frozen=True)
class KillingWork(ProgramWork):
    """`ProgramWork` whose worker process dies (`os._exit`) when it is given a program whose
    id starts with `dies`: each time for `dies-always`, the first time for the others.
    """

    markers: Path = Path()

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Callable[[ProgramTask], Awaitable[ProgramOutcome]]]:
        async with super().open() as run:

            async def run_or_die(task: ProgramTask) -> ProgramOutcome:
                if task.id.startswith("dies"):
                    with (self.markers / f"{task.id}.attempts").open("a") as attempts:
                        attempts.write("x")
                    marker = self.markers / f"{task.id}.died"
                    if task.id == "dies-always" or not marker.exists():
                        marker.write_text("")
                        os._exit(1)
                return await run(task)

            yield run_or_die


def run_on_ray(
    directory: Path, programs: list[ProgramTask], *, concurrency: int, max_attempts: int
) -> dict[str, dict[str, Any]]:
    """Runs `programs` on two workers; returns the results file's records by id (after
    checking each id was recorded, and handed to `on_finished`, exactly once).
    """
    output = directory / "results.jsonl"
    results = ResultsFile(output)
    results.open()
    finished: list[str] = []
    runner = RayRunner(
        KillingWork(SandboxConfig(memory_mb=512, cell_timeout_s=10), markers=directory),
        results,
        settings=RaySettings(workers=2, max_attempts=max_attempts),
        concurrency=concurrency,
        on_finished=lambda outcome: finished.append(outcome.id),
    )
    try:
        asyncio.run(asyncio.wait_for(runner.run(programs), DEADLINE_S))
    finally:
        results.close()
    records = [json.loads(line) for line in output.read_text().splitlines()]
    ids = Counter(p.id for p in programs)
    assert Counter(r["id"] for r in records) == ids
    assert Counter(finished) == ids
    return {r["id"]: r for r in records}


def test_programs_run_on_ray_workers_and_a_dead_workers_program_runs_again(
    local_ray: None, tmp_path: Path
) -> None:
    programs = [ProgramTask(id=f"p{i}", code=f"print({i} * 2)") for i in range(6)]
    programs += [
        ProgramTask(id="exit-3", code="raise SystemExit(3)"),
        ProgramTask(id="loop", code="while True:\n    pass", timeout_s=0.5),
        ProgramTask(id="dies-once", code="print(input())", stdin="survived\n"),
    ]
    by_id = run_on_ray(tmp_path, programs, concurrency=2, max_attempts=3)

    for i in range(6):
        record = by_id[f"p{i}"]
        assert (record["status"], record["stdout"]) == ("passed", f"{i * 2}\n"), record
    assert (by_id["exit-3"]["status"], by_id["exit-3"]["exit_code"]) == ("failed", 3)
    assert by_id["loop"]["status"] == "timed_out"
    # it killed its first worker (and the program beside it there), then ran on another one
    assert (tmp_path / "dies-once.attempts").read_text() == "xx"
    assert (by_id["dies-once"]["status"], by_id["dies-once"]["stdout"]) == (
        "passed",
        "survived\n",
    )


def test_a_program_whose_workers_all_die_is_recorded_as_an_error(
    local_ray: None, tmp_path: Path
) -> None:
    programs = [ProgramTask(id=f"p{i}", code="pass") for i in range(3)]
    programs.append(ProgramTask(id="dies-always", code="pass"))
    # one program per worker at a time: each death is the dying program's own
    by_id = run_on_ray(tmp_path, programs, concurrency=1, max_attempts=2)

    assert (tmp_path / "dies-always.attempts").read_text() == "xx"  # two attempts, no third
    assert by_id["dies-always"]["status"] == "error"
    assert by_id["dies-always"]["exit_code"] is None
    assert "2 Ray workers died running this task" in by_id["dies-always"]["error"]
    assert all(by_id[f"p{i}"]["status"] == "passed" for i in range(3))
