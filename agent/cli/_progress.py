"""Progress on the terminal for the steps of a command that take a while.

Counted steps (building the tiny checkpoint: runs recorded, training steps with their loss)
show a bar, the count, the time spent and the time left; steps of unknown length (starting
vLLM) a spinner and the time spent. Batches show a bar of their tasks (`task_bar`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from types import TracebackType

from harmony_agent.tiny import BuildProgress, BuildStage
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

__all__ = ["ProgressDisplay", "task_bar"]


def task_bar(console: Console, label: str) -> Progress:
    """A bar for tasks run in a batch: `label`, the bar, done/total, a `rate` field (what
    passed so far) and the time spent.
    """
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


class _Count(ProgressColumn):
    """`12/1500` for a stage of several steps; nothing for one step."""

    def render(self, task: Task) -> Text:
        if task.total is None or task.total <= 1:
            return Text("")
        return Text(f"{task.completed:.0f}/{task.total:.0f}", style="progress.download")


class _TimeLeft(ProgressColumn):
    """`0:01:23 left` for a counted step in progress; nothing otherwise."""

    def render(self, task: Task) -> Text:
        left = task.time_remaining
        if task.total is None or task.finished or left is None:
            return Text("")
        return Text(f"{timedelta(seconds=round(left))} left", style="progress.remaining")


class ProgressDisplay:
    """Progress lines on `console` while the block runs.

    Use it as a `harmony_agent.tiny` progress callback (safe from any thread) and wrap steps of
    unknown length in `step`.
    """

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description}"),
            BarColumn(),
            _Count(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            _TimeLeft(),
            console=console,
        )
        self._stages: dict[BuildStage, TaskID] = {}

    def __enter__(self) -> ProgressDisplay:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def __call__(self, event: BuildProgress) -> None:
        """Shows how far `event`'s stage got (a stage of one step as a step of unknown length
        until it is done).
        """
        task = self._stages.get(event.stage)
        if task is None:
            task = self._progress.add_task(event.stage.value, total=None, detail="")
            self._stages[event.stage] = task
        counted = event.total > 1 or event.done == event.total
        self._progress.update(
            task,
            completed=event.done,
            total=event.total if counted else None,
            detail=event.detail,
        )

    @contextlib.contextmanager
    def step(self, description: str) -> Iterator[None]:
        """Shows `description` with a spinner and the time spent while the block runs, then as
        done (when the block succeeded).
        """
        task = self._progress.add_task(description, total=None, detail="")
        yield
        self._progress.update(task, total=1, completed=1)
