"""What Ray workers run: a `RayWork` opens a worker's resource once and runs tasks on it.

It is pickled to every worker, so it holds settings only. `AgentWork` runs batch tasks on an
agent; `harmony_agent.batch._programs.ProgramWork` runs programs on a `ProgramRunner`.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from harmony_agent._agent import Agent
from harmony_agent._redact import Redactor
from harmony_agent.batch._outcome import Status, TaskOutcome
from harmony_agent.batch._task_runner import TaskRunner, result_record
from harmony_agent.batch._tasks import Task

__all__ = ["AgentWork", "OpenAgent", "OutcomeT", "RayWork", "TaskT"]

OpenAgent = Callable[[], AbstractAsyncContextManager[Agent]]
"""Opens the agent a worker runs its tasks on (closed when the worker stops); it is pickled
to every worker, so it must not hold an engine or tools: `AgentConfig.open` does not.
"""


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


TaskT = TypeVar("TaskT", bound=_Identified)
OutcomeT = TypeVar("OutcomeT", bound=_Identified)


class RayWork(ABC, Generic[TaskT, OutcomeT]):
    """What Ray workers run, and how the driver records it. It is pickled to every worker,
    so it holds settings only; each worker opens its own resource with `open`.
    """

    @abstractmethod
    def open(self) -> AbstractAsyncContextManager[Callable[[TaskT], Awaitable[OutcomeT]]]:
        """Opens a worker's resource (closed when the worker stops); gives the function
        that runs one task into its outcome (the same id).
        """

    @abstractmethod
    def lost(self, task_id: str, error: str) -> OutcomeT:
        """The error outcome of a task whose workers all died running it (`error` says so)."""

    @abstractmethod
    def record(self, outcome: OutcomeT, redactor: Redactor) -> dict[str, Any]:
        """The results file's line for `outcome`, redacted by `redactor`."""


@dataclass(frozen=True)
class AgentWork(RayWork[Task, TaskOutcome]):
    """Batch tasks on the agent `open_agent` opens on each worker, as `TaskRunner` runs
    them (traced into `traces_dir` on the worker's node, `secrets` redacted).
    """

    open_agent: OpenAgent
    traces_dir: Path | None = None
    secrets: tuple[str, ...] = ()

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Callable[[Task], Awaitable[TaskOutcome]]]:
        """Opens the agent (its engine, its tools); gives `TaskRunner.run` on it."""
        async with self.open_agent() as agent:
            runner = TaskRunner(agent, traces_dir=self.traces_dir, secrets=self.secrets)
            try:
                yield runner.run
            finally:
                await runner.aclose()

    def lost(self, task_id: str, error: str) -> TaskOutcome:
        """An `ERROR` outcome of kind `WorkerLost`."""
        return TaskOutcome(task_id, Status.ERROR, error_kind="WorkerLost", error=error)

    def record(self, outcome: TaskOutcome, redactor: Redactor) -> dict[str, Any]:
        """`result_record`, as `BatchRunner` writes it."""
        return result_record(outcome, redactor)
