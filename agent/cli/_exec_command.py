"""`exec`: one-shot programs from a JSONL file, each run once in the sandbox; resumable."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from harmony_agent.cli._app import console, handles_errors, print_problem
from harmony_agent.cli._exit import ExitCode, UserError
from harmony_agent.cli._progress import task_bar
from harmony_agent.cli._ray_options import RayAddressOption, RayWorkersOption, ray_settings
from rich.table import Table

if TYPE_CHECKING:
    from harmony_agent.batch._programs import ProgramOutcome, ProgramTask
    from harmony_agent.batch._ray import RaySettings
    from harmony_agent.batch._results import ResultsFile
    from harmony_agent.sandbox import SandboxConfig

__all__ = ["exec_programs"]


@handles_errors
def exec_programs(
    tasks_path: Annotated[
        Path,
        typer.Argument(
            help='JSONL file: one program per line, {"id", "code", "stdin", "files", '
            '"timeout_s"} or {"id", "prompt", "completion", "test", "entry_point"}.',
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Results JSONL (appended; done ids are skipped).")
    ],
    concurrency: Annotated[
        int, typer.Option("-c", "--concurrency", min=1, help="Programs run at once.")
    ] = 2,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.001, help="Seconds per program (unless it says).")
    ] = 10.0,
    memory_mb: Annotated[
        int, typer.Option("--memory-mb", min=256, help="Memory of each program's processes.")
    ] = 2048,
    ray: RayAddressOption = None,
    ray_workers: RayWorkersOption = None,
) -> None:
    """Run a JSONL file of Python programs, each once in a fresh sandbox; re-run to resume."""
    from harmony_agent.batch._programs import read_programs
    from harmony_agent.batch._results import ResultsFile
    from harmony_agent.sandbox import SandboxConfig

    cluster = ray_settings(ray, ray_workers)
    try:
        tasks, bad_lines = read_programs(tasks_path)
    except OSError as error:
        raise UserError(f"{tasks_path}: cannot read the programs file: {error.strerror}") from None
    for bad in bad_lines:
        print_problem("invalid program", f"{tasks_path}:{bad.line}: {bad.message}")
    config = SandboxConfig(memory_mb=memory_mb, cell_timeout_s=timeout)
    results = ResultsFile(output)
    done = results.open()
    try:
        pending = [task for task in tasks if task.id not in done]
        summary = _Summary(skipped=len(tasks) - len(pending), invalid_lines=len(bad_lines))
        if summary.skipped:
            console.print(f"[dim]{summary.skipped} programs already in {output}; skipped[/]")
        started = time.monotonic()
        asyncio.run(_run(config, pending, results, concurrency, summary, cluster))
    finally:
        results.close()
    console.print(summary.table(time.monotonic() - started))
    if not summary.all_passed:
        raise typer.Exit(ExitCode.INCOMPLETE)


async def _run(
    config: SandboxConfig,
    tasks: list[ProgramTask],
    results: ResultsFile,
    concurrency: int,
    summary: _Summary,
    cluster: RaySettings | None,
) -> None:
    from harmony_agent.batch._programs import ProgramWork, run_programs, started_runner

    if not tasks:
        return
    progress = task_bar(console, "exec")
    bar = progress.add_task("exec", total=len(tasks), rate="")

    def on_finished(outcome: ProgramOutcome) -> None:
        summary.add(outcome)
        progress.update(bar, advance=1, rate=f"passed {summary.passed}/{summary.finished}")

    if cluster is not None:
        from harmony_agent.batch._ray import RayRunner

        on_ray = RayRunner(
            ProgramWork(config),
            results,
            settings=cluster,
            concurrency=concurrency,
            on_finished=on_finished,
        )
        with progress:
            await on_ray.run(tasks)
        return
    async with started_runner(config) as runner:
        with progress:
            await run_programs(
                runner, tasks, results, concurrency=concurrency, on_finished=on_finished
            )


@dataclass
class _Summary:
    """Running totals over the programs finished in this invocation."""

    skipped: int = 0
    invalid_lines: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    durations: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    peak_memory: int = 0

    def add(self, outcome: ProgramOutcome) -> None:
        """Counts one finished program."""
        self.statuses[str(outcome.status)] += 1
        self.durations.append(outcome.duration_s)
        self.cpu_s += outcome.cpu_s or 0.0
        self.peak_memory = max(self.peak_memory, outcome.peak_memory_bytes or 0)

    @property
    def finished(self) -> int:
        """Programs finished in this invocation."""
        return sum(self.statuses.values())

    @property
    def passed(self) -> int:
        """Programs that exited with status 0."""
        return self.statuses["passed"]

    @property
    def all_passed(self) -> bool:
        """Whether every program passed and every line was valid."""
        return self.passed == self.finished and self.invalid_lines == 0

    def table(self, wall_s: float) -> Table:
        """The summary printed at the end."""
        table = Table(title="exec summary", show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        table.add_row(
            "programs",
            f"{self.finished} run, {self.skipped} skipped, {self.invalid_lines} invalid lines",
        )
        table.add_row(
            "statuses", ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items())) or "-"
        )
        per_task = f"{self.cpu_s / self.finished * 1000:.1f} ms" if self.finished else "-"
        table.add_row("CPU per program", per_task)
        median = f"{statistics.median(self.durations):.3f} s" if self.durations else "-"
        table.add_row("duration median", median)
        table.add_row("peak memory max", f"{self.peak_memory / 2**20:.1f} MiB")
        table.add_row("time", f"{wall_s:.1f} s")
        return table
