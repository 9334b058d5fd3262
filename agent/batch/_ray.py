"""Batches on a Ray cluster: tasks run on Ray workers, results are recorded by the driver.

What a worker runs is a `RayWork`: picklable, it opens the worker's resource once (an agent
with its engine client or in-process engine and its kernel pool, from `AgentWork`; or a
`ProgramRunner`, from `harmony_agent.batch._programs.ProgramWork`) and runs up to
`concurrency` tasks at a time on it. The driver keeps the one results file and the progress:
it appends each outcome as it comes back, once per id. When a worker or its node dies, the
tasks it was running go back to the queue for the other workers, and a replacement worker is
started (it waits for room in the cluster); a task that was running on `max_attempts` workers
that all died is recorded as the work's own error outcome instead of being run again.

This is the one module that imports `ray`, lazily: without the `ray` extra nothing changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, Protocol, TypeVar

from harmony_agent._agent import Agent
from harmony_agent._errors import ConfigError, EngineUnavailable, HarmonyAgentError
from harmony_agent._redact import Redactor
from harmony_agent.batch._outcome import Status, TaskOutcome
from harmony_agent.batch._results import ResultsFile
from harmony_agent.batch._task_runner import TaskRunner, result_record
from harmony_agent.batch._tasks import Task

__all__ = ["AgentWork", "RayBatchRunner", "RayRunner", "RaySettings", "RayWork"]

OpenAgent = Callable[[], AbstractAsyncContextManager[Agent]]
"""Opens the agent a worker runs its tasks on (closed when the worker stops); it is pickled
to every worker, so it must not hold an engine or tools: `AgentConfig.open` does not.
"""

_log = logging.getLogger(__name__)
_STOP_TIMEOUT_S = 30.0
"""How long a worker may take to close its resource (its engine, its kernels) at the end."""


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
            yield TaskRunner(agent, traces_dir=self.traces_dir, secrets=self.secrets).run

    def lost(self, task_id: str, error: str) -> TaskOutcome:
        """An `ERROR` outcome of kind `WorkerLost`."""
        return TaskOutcome(task_id, Status.ERROR, error_kind="WorkerLost", error=error)

    def record(self, outcome: TaskOutcome, redactor: Redactor) -> dict[str, Any]:
        """`result_record`, as `BatchRunner` writes it."""
        return result_record(outcome, redactor)


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
            await _Dispatch(self, ray, pending).run()
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


class _Worker(Generic[TaskT, OutcomeT]):
    """A Ray actor's body: `work`'s resource, opened in `start`, running tasks until `stop`."""

    def __init__(self, work: RayWork[TaskT, OutcomeT]) -> None:
        self._work = work
        self._stack = contextlib.AsyncExitStack()
        self._run: Callable[[TaskT], Awaitable[OutcomeT]] | None = None

    async def start(self) -> None:
        """Opens the resource (an agent's engine and tools, a program runner)."""
        self._run = await self._stack.enter_async_context(self._work.open())

    async def run(self, task: TaskT) -> OutcomeT:
        """Runs one task."""
        if self._run is None:
            raise RuntimeError("_Worker.run before start()")
        return await self._run(task)

    async def stop(self) -> None:
        """Closes the resource."""
        await self._stack.aclose()


@dataclass
class _Attempt(Generic[TaskT]):
    task: TaskT
    workers_lost: int = 0


class _Dispatch(Generic[TaskT, OutcomeT]):
    """One batch's run on the cluster: a queue of attempts served by lanes, each lane a worker
    (and its replacements when it dies) with `concurrency` slots.
    """

    def __init__(
        self, runner: RayRunner[TaskT, OutcomeT], ray: ModuleType, tasks: list[TaskT]
    ) -> None:
        self._runner = runner
        self._ray = ray
        self._queue: asyncio.Queue[_Attempt[TaskT]] = asyncio.Queue()
        for task in tasks:
            self._queue.put_nowait(_Attempt(task))
        self._left = {task.id for task in tasks}
        """Ids not recorded yet, nor being recorded."""
        self._unwritten = len(self._left)
        self._all_recorded = asyncio.Event()
        settings = runner._settings
        resources: dict[str, Any] = {"num_cpus": settings.num_cpus, "max_restarts": 0}
        if settings.num_gpus:
            resources["num_gpus"] = settings.num_gpus
        self._actor = ray.remote(_Worker).options(**resources)
        lost = ray.exceptions
        self._lost_errors: tuple[type[BaseException], ...] = (
            lost.RayActorError,
            lost.NodeDiedError,
            lost.WorkerCrashedError,
            lost.ObjectLostError,
        )
        self._lanes_left = 0

    async def run(self) -> None:
        count = min(self._worker_count(), len(self._left))
        self._lanes_left = count
        lanes = [asyncio.create_task(self._lane()) for _ in range(count)]
        waiter = asyncio.create_task(self._all_recorded.wait())
        try:
            running: set[asyncio.Task[Any]] = {waiter, *lanes}
            while not waiter.done():
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a lane's error ends the batch
        finally:
            for task in [*lanes, waiter]:
                task.cancel()
            await asyncio.gather(*lanes, waiter, return_exceptions=True)
        if self._left:
            raise EngineUnavailable(
                f"{len(self._left)} tasks were not run: every Ray worker died "
                f"{self._runner._settings.max_attempts} times in a row before it could run one "
                "(see the workers' logs in the Ray session directory)"
            )

    def _worker_count(self) -> int:
        settings = self._runner._settings
        if settings.workers is not None:
            return settings.workers
        resources = self._ray.cluster_resources()
        if settings.num_gpus:
            return max(1, int(resources.get("GPU", 0) // settings.num_gpus))
        return max(1, int(resources.get("CPU", 1) // settings.num_cpus))

    async def _lane(self) -> None:
        """Keeps one worker serving the queue, replacing it when it dies; gives up after
        `max_attempts` workers in a row died while starting (a death while running tasks is
        counted against those tasks).
        """
        failed_starts = 0
        try:
            while failed_starts < self._runner._settings.max_attempts:
                failed_starts = 0 if await self._one_worker() else failed_starts + 1
        finally:
            self._lanes_left -= 1
            if self._lanes_left == 0:
                self._all_recorded.set()

    async def _one_worker(self) -> bool:
        """Starts a worker and serves the queue with it until it dies; returns whether it
        started.
        """
        worker = self._actor.remote(self._runner._work)
        started = False
        try:
            try:
                await _unwrapped(worker.start.remote())
            except self._lost_errors as error:
                _log.warning("a Ray worker died while starting: %s", error)
                return False
            started = True
            await self._serve(worker)
            return True
        finally:
            await self._retire(worker, started)

    async def _serve(self, worker: Any) -> None:
        """Runs `concurrency` slots on `worker` until it dies. Once one slot finds it dead,
        the slots running a task on it wait for their own error (each such task counts the
        loss), the idle ones end.
        """
        busy: set[asyncio.Task[None]] = set()
        dead = asyncio.Event()
        slots = [
            asyncio.create_task(self._slot(worker, busy, dead))
            for _ in range(self._runner._concurrency)
        ]
        try:
            await asyncio.wait(slots, return_when=asyncio.FIRST_COMPLETED)
            dead.set()
            for slot in slots:
                if slot not in busy:
                    slot.cancel()
            ended = await asyncio.gather(*slots, return_exceptions=True)
        finally:
            for slot in slots:
                slot.cancel()
        for error in ended:
            if isinstance(error, BaseException) and not isinstance(error, asyncio.CancelledError):
                raise error

    async def _slot(self, worker: Any, busy: set[asyncio.Task[None]], dead: asyncio.Event) -> None:
        """Runs attempts on `worker` one after another until it dies."""
        this = asyncio.current_task()
        while True:
            attempt = await self._queue.get()
            if attempt.task.id not in self._left:
                continue  # recorded meanwhile
            if dead.is_set() or this is None:
                self._queue.put_nowait(attempt)
                return
            busy.add(this)
            try:
                outcome: OutcomeT = await _unwrapped(worker.run.remote(attempt.task))
            except self._lost_errors as error:
                await self._lost(attempt, error)
                return
            finally:
                busy.discard(this)
            await self._record(outcome)

    async def _lost(self, attempt: _Attempt[TaskT], error: BaseException) -> None:
        """A worker died running `attempt`: it runs again, or after `max_attempts` losses it
        is recorded as an error.
        """
        attempt.workers_lost += 1
        task_id = attempt.task.id
        if attempt.workers_lost < self._runner._settings.max_attempts:
            _log.warning("a Ray worker died running %s; it runs again: %s", task_id, error)
            self._queue.put_nowait(attempt)
            return
        message = f"{attempt.workers_lost} Ray workers died running this task; last: {error}"
        await self._record(self._runner._work.lost(task_id, message))

    async def _record(self, outcome: OutcomeT) -> None:
        """Records `outcome` unless its id was recorded already (a late duplicate); the
        batch is over once every write has ended, not when the last id is claimed.
        """
        if outcome.id not in self._left:
            return
        self._left.discard(outcome.id)
        await self._runner._record(outcome)
        self._unwritten -= 1
        if not self._unwritten:
            self._all_recorded.set()

    async def _retire(self, worker: Any, started: bool) -> None:
        """Closes a started worker's resource if the worker is alive, then ends its actor."""
        if started:
            with contextlib.suppress(TimeoutError, *self._lost_errors):
                await asyncio.wait_for(_unwrapped(worker.stop.remote()), timeout=_STOP_TIMEOUT_S)
        self._ray.kill(worker, no_restart=True)


async def _unwrapped(ref: Any) -> Any:
    """What `ref` holds; an error of this project's tree raised on the worker is raised
    as itself (Ray wraps it with the worker's traceback).
    """
    try:
        return await ref
    except Exception as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, HarmonyAgentError):
            raise cause from None
        raise
