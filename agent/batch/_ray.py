"""Batches on a Ray cluster: tasks run on Ray workers, results are recorded by the driver.

What a worker runs is a `RayWork` (`harmony_agent.batch._ray_work`): picklable, it opens the
worker's resource once (an agent with its engine client or in-process engine and its kernel
pool, from `AgentWork`; or a `ProgramRunner`, from `harmony_agent.batch._programs.ProgramWork`)
and runs up to `concurrency` tasks at a time on it. The driver keeps the one results file and
the progress: it appends each outcome as it comes back, once per id. When a worker or its node
dies, the tasks it was running go back to the queue for the other workers, and a replacement
worker is started (it waits for room in the cluster); a task that was running on
`max_attempts` workers that all died is recorded as the work's own error outcome instead of
being run again (`harmony_agent.batch._ray_dispatch`).

This is the one module that imports `ray`, lazily: without the `ray` extra nothing changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Generic

from harmony_agent._errors import ConfigError
from harmony_agent._redact import Redactor
from harmony_agent.batch._outcome import TaskOutcome
from harmony_agent.batch._ray_dispatch import Dispatch
from harmony_agent.batch._ray_work import AgentWork, OpenAgent, OutcomeT, RayWork, TaskT
from harmony_agent.batch._results import ResultsFile
from harmony_agent.batch._tasks import Task

__all__ = ["RayBatchRunner", "RayRunner", "RaySettings", "import_ray"]


@dataclass(frozen=True)
class RaySettings:
    """Where a batch runs on Ray, and how its workers are shaped.

    `address` is what `ray.init` takes: `host:port` of a cluster's head, `ray://host:10001`,
    `auto` (the cluster this machine belongs to, or `RAY_ADDRESS`), or `local` (a new
    cluster in this process). `workers` defaults to as many as the cluster's CPUs (or GPUs,
    with `num_gpus`) hold at once. Each worker reserves `num_cpus` and `num_gpus` (1 GPU for
    an in-process vLLM engine).
    """

    address: str = "auto"
    workers: int | None = None
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    max_attempts: int = 3
    """Workers a task may lose (each died while running it) before it is recorded as an error."""


class RayRunner(Generic[TaskT, OutcomeT]):
    """Runs tasks on Ray workers, each running `work` (at most `concurrency` tasks at once
    per worker); appends each outcome to `results` (`secrets` and strings shaped like API
    keys redacted), then hands it to `on_finished`.
    """

    def __init__(
        self,
        work: RayWork[TaskT, OutcomeT],
        results: ResultsFile,
        *,
        settings: RaySettings | None = None,
        concurrency: int = 4,
        secrets: Iterable[str] = (),
        on_finished: Callable[[OutcomeT], None] | None = None,
    ) -> None:
        self._settings = settings or RaySettings()
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
        if self._settings.workers is not None and self._settings.workers < 1:
            raise ConfigError(f"workers must be at least 1, got {self._settings.workers}")
        if self._settings.num_cpus <= 0:
            raise ConfigError(f"num_cpus must be above 0, got {self._settings.num_cpus}")
        if self._settings.max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {self._settings.max_attempts}")
        self._work = work
        self._results = results
        self._concurrency = concurrency
        self._redactor = Redactor(tuple(secrets))
        self._on_finished = on_finished
        self._write_lock = asyncio.Lock()

    async def run(self, tasks: Iterable[TaskT]) -> None:
        """Runs every task on the cluster; returns when each has been recorded once."""
        pending = list(tasks)
        if not pending:
            return
        ray = import_ray()
        started_ray = not ray.is_initialized()
        if started_ray:
            await asyncio.to_thread(self._connect, ray)
        try:
            await Dispatch(
                ray,
                self._work,
                pending,
                settings=self._settings,
                concurrency=self._concurrency,
                record=self._record,
            ).run()
        finally:
            if started_ray:
                await asyncio.to_thread(ray.shutdown)

    def _connect(self, ray: ModuleType) -> None:
        try:
            ray.init(
                address=self._settings.address,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ConfigError(
                f"cannot connect to the Ray cluster at {self._settings.address!r}: {error}"
            ) from None

    async def _record(self, outcome: OutcomeT) -> None:
        record = self._work.record(outcome, self._redactor)
        async with self._write_lock:
            await asyncio.to_thread(self._results.append, record)
        if self._on_finished is not None:
            self._on_finished(outcome)


class RayBatchRunner(RayRunner[Task, TaskOutcome]):
    """Runs batch tasks on Ray workers, each on the agent `open_agent` opens there (see
    `AgentWork`), at most `concurrency` per worker at once; appends each outcome to
    `results` (redacted as `BatchRunner` does), then hands it to `on_finished`. With
    `traces_dir`, each worker traces its tasks there, on its own node's file system.
    """

    def __init__(
        self,
        open_agent: OpenAgent,
        results: ResultsFile,
        *,
        settings: RaySettings | None = None,
        concurrency: int = 4,
        traces_dir: Path | None = None,
        secrets: Iterable[str] = (),
        on_finished: Callable[[TaskOutcome], None] | None = None,
    ) -> None:
        secrets = tuple(secrets)
        # a worker's working directory is not the driver's
        traces = None if traces_dir is None else traces_dir.resolve()
        super().__init__(
            AgentWork(open_agent, traces, secrets),
            results,
            settings=settings,
            concurrency=concurrency,
            secrets=secrets,
            on_finished=on_finished,
        )


def import_ray() -> ModuleType:
    """The `ray` module; raises `ConfigError` saying how to install it when it is missing."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "running a batch on Ray needs the ray extra: pip install 'harmony-agent[ray]'"
        ) from None
    return ray
