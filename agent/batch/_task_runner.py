"""Runs one batch task on an agent: its sandbox, its trace, its checks, and its outcome."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harmony_agent._agent import Agent
from harmony_agent._errors import HarmonyAgentError
from harmony_agent._events import Event
from harmony_agent._redact import Redactor
from harmony_agent._result import RunResult
from harmony_agent.batch._checks import CheckRunners
from harmony_agent.batch._outcome import Status, TaskOutcome, judge_answer
from harmony_agent.batch._task_sandbox import CheckRun, TaskSandbox
from harmony_agent.batch._tasks import Task
from harmony_agent.traces import TraceWriter

__all__ = ["TaskRunner", "result_record"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class TaskRunner:
    """Runs tasks on `agent` and judges them, recording nothing but their traces: with
    `traces_dir`, each task's run is traced to `<traces_dir>/<id>.jsonl`, with `secrets`
    (and strings shaped like API keys) redacted. Python checks run as one-shot programs of a
    runner started at the first check; `aclose` ends it.
    """

    def __init__(
        self, agent: Agent, *, traces_dir: Path | None = None, secrets: Iterable[str] = ()
    ) -> None:
        self._agent = agent
        self._traces_dir = traces_dir
        self._secrets = tuple(secrets)
        self._check_runners = CheckRunners()

    async def run(self, task: Task) -> TaskOutcome:
        """Runs `task`; what the infrastructure fails at becomes an `ERROR` outcome."""
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
                check = await sandbox.check(
                    task.check.python, result.final_text, self._check_runners
                )
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

    async def aclose(self) -> None:
        """Ends what the checks run in (started again by a later `run`)."""
        await self._check_runners.aclose()

    def _trace(self, task: Task) -> TraceWriter | None:
        if self._traces_dir is None:
            return None
        writer = TraceWriter(
            self._traces_dir / f"{_UNSAFE.sub('_', task.id)}.jsonl", secrets=self._secrets
        )
        writer.start(task.prompt, task_id=task.id)
        return writer


def result_record(outcome: TaskOutcome, redactor: Redactor) -> dict[str, Any]:
    """The results file's line for `outcome`, redacted (its id kept as it is: resuming
    matches it).
    """
    return {**redactor.value(outcome.record()), "id": outcome.id}


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
