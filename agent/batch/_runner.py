"""Runs batch tasks concurrently on one agent, writing each result as soon as it is known."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from harmony_agent._agent import Agent
from harmony_agent._errors import ConfigError, HarmonyAgentError
from harmony_agent._events import Event
from harmony_agent._redact import Redactor
from harmony_agent._result import RunResult
from harmony_agent.batch._outcome import Status, TaskOutcome, judge_answer
from harmony_agent.batch._results import ResultsFile
from harmony_agent.batch._task_sandbox import CheckRun, TaskSandbox
from harmony_agent.batch._tasks import Task
from harmony_agent.traces import TraceWriter

__all__ = ["BatchRunner"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


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
        self._agent = agent
        self._results = results
        self._concurrency = concurrency
        self._traces_dir = traces_dir
        self._secrets = tuple(secrets)
        self._redactor = Redactor(self._secrets)
        self._on_finished = on_finished
        self._write_lock = asyncio.Lock()

    async def run(self, tasks: Iterable[Task]) -> None:
        """Runs every task; returns when all have finished (each result is already saved)."""
        queue: asyncio.Queue[Task] = asyncio.Queue()
        for task in tasks:
            queue.put_nowait(task)
        workers = min(self._concurrency, queue.qsize())
        async with asyncio.TaskGroup() as group:
            for _ in range(workers):
                group.create_task(self._work(queue))

    async def _work(self, queue: asyncio.Queue[Task]) -> None:
        while not queue.empty():
            task = queue.get_nowait()
            outcome = await self._run_task(task)
            async with self._write_lock:
                record = {**self._redactor.value(outcome.record()), "id": outcome.id}
                await asyncio.to_thread(self._results.append, record)
            self._on_finished(outcome)

    async def _run_task(self, task: Task) -> TaskOutcome:
        started = time.monotonic()
        needs_sandbox = bool(task.files) or (task.check is not None and task.check.python)
        agent, sandbox = (
            TaskSandbox.for_agent(self._agent, task.files) if needs_sandbox else (self._agent, None)
        )
        trace = self._trace(task)
        try:
            result = await agent.arun(task.prompt, on_event=trace or _no_event)
            check = None
            if result.ok and sandbox is not None and task.check and task.check.python:
                check = await sandbox.check(task.check.python, result.final_text)
        except HarmonyAgentError as error:
            if trace is not None:
                trace.error(error)
            return TaskOutcome(
                task.id,
                Status.ERROR,
                error_kind=type(error).__name__,
                error=str(error),
                duration_s=round(time.monotonic() - started, 3),
            )
        finally:
            if sandbox is not None:
                await sandbox.aclose()
            if trace is not None:
                trace.close()
        return _judge(task, result, check, time.monotonic() - started)

    def _trace(self, task: Task) -> TraceWriter | None:
        if self._traces_dir is None:
            return None
        writer = TraceWriter(
            self._traces_dir / f"{_UNSAFE.sub('_', task.id)}.jsonl", secrets=self._secrets
        )
        writer.start(task.prompt, task_id=task.id)
        return writer


def _no_event(event: Event) -> None:
    """Ignores a run event."""


def _judge(task: Task, result: RunResult, check: CheckRun | None, duration_s: float) -> TaskOutcome:
    usage = result.usage
    checks: dict[str, bool] = {}
    if not result.ok:
        status, error_kind = Status.ERROR, str(result.stop_reason)
    elif task.check is None:
        status, error_kind = Status.DONE, None
    else:
        checks = judge_answer(task.check, result.final_text)
        if check is not None:
            checks["python"] = check.passed
        status = Status.PASSED if all(checks.values()) else Status.FAILED
        error_kind = None
    return TaskOutcome(
        id=task.id,
        status=status,
        answer=result.final_text,
        stop_reason=str(result.stop_reason),
        checks=checks,
        error_kind=error_kind,
        error=None if error_kind is None else f"the run stopped: {result.stop_reason}",
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        turns=usage.turns,
        tool_calls=usage.tool_calls,
        check_output=None if check is None else check.output,
        duration_s=round(duration_s, 3),
    )
