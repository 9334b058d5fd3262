"""`batch`: many tasks from a JSONL file, results appended per task, resumable."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from harmony_agent.cli._app import (
    ConfigArgument,
    announce_engine,
    console,
    handles_errors,
    load,
    print_problem,
)
from harmony_agent.cli._exit import ExitCode, UserError
from harmony_agent.cli._progress import task_bar
from harmony_agent.cli._ray_options import RayAddressOption, RayWorkersOption, ray_settings
from rich.table import Table

if TYPE_CHECKING:
    from harmony_agent.batch import BatchSummary, ResultsFile, Task, TaskOutcome
    from harmony_agent.batch._ray import RaySettings
    from harmony_agent.config import AgentConfig

__all__ = ["batch"]


@handles_errors
def batch(
    config_path: ConfigArgument,
    tasks_path: Annotated[Path, typer.Argument(help="JSONL file: one task per line.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Results JSONL (appended; done ids are skipped).")
    ],
    concurrency: Annotated[
        int, typer.Option("-c", "--concurrency", min=1, help="Tasks run at once.")
    ] = 4,
    traces: Annotated[
        Path | None,
        typer.Option("--traces", help="Write one JSONL trace per task into this directory."),
    ] = None,
    ray: RayAddressOption = None,
    ray_workers: RayWorkersOption = None,
    ray_worker_gpus: Annotated[
        float,
        typer.Option(
            "--ray-worker-gpus", min=0, help="GPUs each Ray worker holds (1: in-process vLLM)."
        ),
    ] = 0.0,
) -> None:
    """Run a JSONL file of tasks, checking each answer; re-run to resume."""
    from harmony_agent.batch import BatchSummary, ResultsFile, read_tasks

    cluster = ray_settings(ray, ray_workers, ray_worker_gpus)
    config = load(config_path)
    announce_engine(config)
    try:
        tasks, bad_lines = read_tasks(tasks_path)
    except OSError as error:
        raise UserError(f"{tasks_path}: cannot read the tasks file: {error.strerror}") from None
    for bad in bad_lines:
        print_problem("invalid task", f"{tasks_path}:{bad.line}: {bad.message}")
    results = ResultsFile(output)
    done = results.open()
    try:
        pending = [task for task in tasks if task.id not in done]
        summary = BatchSummary(
            total=len(pending), skipped=len(tasks) - len(pending), invalid_lines=len(bad_lines)
        )
        if summary.skipped:
            console.print(f"[dim]{summary.skipped} tasks already in {output}; skipped[/]")
        started = time.monotonic()
        asyncio.run(_run(config, pending, results, concurrency, traces, summary, cluster))
    finally:
        results.close()
    console.print(_summary_table(summary, time.monotonic() - started))
    if not summary.all_passed:
        raise typer.Exit(ExitCode.INCOMPLETE)


async def _run(
    config: AgentConfig,
    tasks: list[Task],
    results: ResultsFile,
    concurrency: int,
    traces: Path | None,
    summary: BatchSummary,
    cluster: RaySettings | None,
) -> None:
    from harmony_agent.batch import BatchRunner

    if not tasks:
        return
    progress = task_bar(console, "batch")
    bar = progress.add_task("batch", total=len(tasks), rate="")

    def on_finished(outcome: TaskOutcome) -> None:
        summary.add(outcome)
        rate = summary.pass_rate
        shown = "" if rate is None else f"pass {rate:.0%} ({summary.judged} judged)"
        progress.update(bar, advance=1, rate=shown)

    with progress:
        if cluster is not None:
            from harmony_agent.batch._ray import RayBatchRunner

            on_ray = RayBatchRunner(
                config.open,
                results,
                settings=cluster,
                concurrency=concurrency,
                traces_dir=traces,
                secrets=config.secrets,
                on_finished=on_finished,
            )
            await on_ray.run(tasks)
            return
        async with config.open() as agent:
            runner = BatchRunner(
                agent,
                results,
                concurrency=concurrency,
                traces_dir=traces,
                secrets=config.secrets,
                on_finished=on_finished,
            )
            await runner.run(tasks)


def _summary_table(summary: BatchSummary, wall_s: float) -> Table:
    from harmony_agent.batch import Status

    table = Table(title="batch summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rate = summary.pass_rate
    table.add_row(
        "tasks",
        f"{summary.finished} run, {summary.skipped} skipped, {summary.invalid_lines} invalid lines",
    )
    table.add_row(
        "pass rate",
        "-" if rate is None else f"{rate:.1%} ({summary.statuses[Status.PASSED]}/{summary.judged})",
    )
    table.add_row(
        "statuses",
        ", ".join(f"{status}: {summary.statuses[status]}" for status in Status) or "-",
    )
    errors = ", ".join(f"{kind}: {count}" for kind, count in summary.errors.most_common())
    table.add_row("errors", errors or "none")
    table.add_row(
        "tokens",
        f"{summary.prompt_tokens + summary.completion_tokens:,} "
        f"({summary.prompt_tokens:,} prompt + {summary.completion_tokens:,} generated)",
    )
    table.add_row("time", f"{wall_s:.1f} s ({summary.task_seconds:.1f} s summed over tasks)")
    return table
