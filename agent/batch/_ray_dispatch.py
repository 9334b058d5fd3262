"""One batch's run on a Ray cluster, as the driver sees it: a queue of attempts served by
lanes of workers, each worker a Ray actor running a `RayWork` (`harmony_agent.batch._ray_work`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic

from harmony_agent._errors import EngineUnavailable, HarmonyAgentError
from harmony_agent.batch._ray_work import OutcomeT, RayWork, TaskT

if TYPE_CHECKING:
    from harmony_agent.batch._ray import RaySettings

__all__ = ["Dispatch"]

_log = logging.getLogger(__name__)
_STOP_TIMEOUT_S = 30.0
"""How long a worker may take to close its resource (its engine, its kernels) at the end."""


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


class Dispatch(Generic[TaskT, OutcomeT]):
    """One batch's run on the cluster: a queue of attempts served by lanes, each lane a worker
    running `work` (and its replacements when it dies) with `concurrency` slots; each outcome
    goes to `record` once per id.
    """

    def __init__(
        self,
        ray: ModuleType,
        work: RayWork[TaskT, OutcomeT],
        tasks: list[TaskT],
        *,
        settings: RaySettings,
        concurrency: int,
        record: Callable[[OutcomeT], Awaitable[None]],
    ) -> None:
        self._ray = ray
        self._work = work
        self._settings = settings
        self._concurrency = concurrency
        self._record_outcome = record
        self._queue: asyncio.Queue[_Attempt[TaskT]] = asyncio.Queue()
        for task in tasks:
            self._queue.put_nowait(_Attempt(task))
        self._left = {task.id for task in tasks}
        """Ids not recorded yet, nor being recorded."""
        self._unwritten = len(self._left)
        self._all_recorded = asyncio.Event()
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
                f"{self._settings.max_attempts} times in a row before it could run one "
                "(see the workers' logs in the Ray session directory)"
            )

    def _worker_count(self) -> int:
        settings = self._settings
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
            while failed_starts < self._settings.max_attempts:
                failed_starts = 0 if await self._one_worker() else failed_starts + 1
        finally:
            self._lanes_left -= 1
            if self._lanes_left == 0:
                self._all_recorded.set()

    async def _one_worker(self) -> bool:
        """Starts a worker and serves the queue with it until it dies; returns whether it
        started.
        """
        worker = self._actor.remote(self._work)
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
            asyncio.create_task(self._slot(worker, busy, dead)) for _ in range(self._concurrency)
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
        if attempt.workers_lost < self._settings.max_attempts:
            _log.warning("a Ray worker died running %s; it runs again: %s", task_id, error)
            self._queue.put_nowait(attempt)
            return
        message = f"{attempt.workers_lost} Ray workers died running this task; last: {error}"
        await self._record(self._work.lost(task_id, message))

    async def _record(self, outcome: OutcomeT) -> None:
        """Records `outcome` unless its id was recorded already (a late duplicate); the
        batch is over once every write has ended, not when the last id is claimed.
        """
        if outcome.id not in self._left:
            return
        self._left.discard(outcome.id)
        await self._record_outcome(outcome)
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
