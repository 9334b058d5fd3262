"""Runs batch tasks concurrently on one agent, writing each result as soon as it is known."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from pathlib import Path

from harmony_agent._agent import Agent
from harmony_agent._errors import ConfigError
from harmony_agent._redact import Redactor
from harmony_agent.batch._outcome import TaskOutcome
from harmony_agent.batch._results import ResultsFile
from harmony_agent.batch._task_runner import TaskRunner, result_record
from harmony_agent.batch._tasks import Task

__all__ = ["BatchRunner"]


def _ignore(outcome: TaskOutcome) -> None:
    """Ignores a finished task."""


class BatchRunner:
    """Runs tasks on `agent`, at most `concurrency` at once, appending each outcome to
    `results` (with `secrets`, and strings shaped like API keys, redacted), then handing it to
    `on_finished`. With `traces_dir`, each task's run is traced to `<traces_dir>/<id>.jsonl`,
    redacted the same way.
    """

    def __init__(
        self,
        agent: Agent,
        results: ResultsFile,
        *,
        concurrency: int = 4,
        traces_dir: Path | None = None,
        secrets: Iterable[str] = (),
        on_finished: Callable[[TaskOutcome], None] = _ignore,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
        secrets = tuple(secrets)
        self._task_runner = TaskRunner(agent, traces_dir=traces_dir, secrets=secrets)
        self._results = results
        self._concurrency = concurrency
        self._redactor = Redactor(secrets)
        self._on_finished = on_finished
        self._write_lock = asyncio.Lock()

    async def run(self, tasks: Iterable[Task]) -> None:
        """Runs every task; returns when all have finished (each result is already saved)."""
        queue: asyncio.Queue[Task] = asyncio.Queue()
        for task in tasks:
            queue.put_nowait(task)
        workers = min(self._concurrency, queue.qsize())
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(self._work(queue))
        finally:
            await self._task_runner.aclose()

    async def _work(self, queue: asyncio.Queue[Task]) -> None:
        while not queue.empty():
            task = queue.get_nowait()
            outcome = await self._task_runner.run(task)
            async with self._write_lock:
                record = result_record(outcome, self._redactor)
                await asyncio.to_thread(self._results.append, record)
            self._on_finished(outcome)
