"""`RunStream`: a run's events as an async iterator, with cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from harmony_agent._events import Event, RunFinished
from harmony_agent._result import RunResult

if TYPE_CHECKING:
    from harmony_agent._run import Run

__all__ = ["RunStream"]


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class RunStream:
    """Iterates over a run's events; the run starts at the first iteration.

    Leaving the iteration early (`break`, or `async with` exiting) cancels the run and waits
    for it to release its tools. `result` is available once `RunFinished` has been seen.
    """

    def __init__(self, make_run: Callable[[Callable[[Event], None]], Run]) -> None:
        self._queue: asyncio.Queue[Event | _Failed] = asyncio.Queue()
        self._run = make_run(self._queue.put_nowait)
        self._task: asyncio.Task[None] | None = None
        self._result: RunResult | None = None
        self._ended = False

    @property
    def result(self) -> RunResult:
        """The run's result; raises RuntimeError before the run has finished."""
        if self._result is None:
            raise RuntimeError("the run has not finished; iterate the stream to its end first")
        return self._result

    def cancel(self) -> None:
        """Ends the run at its next await with `StopReason.CANCELLED`."""
        self._run.cancel()

    def __aiter__(self) -> RunStream:
        return self

    async def __anext__(self) -> Event:
        if self._ended:
            raise StopAsyncIteration
        if self._task is None:
            self._task = asyncio.create_task(self._drive())
        item = await self._queue.get()
        if isinstance(item, _Failed):
            self._ended = True
            raise item.error
        if isinstance(item, RunFinished):
            self._ended = True
            self._result = item.result
        return item

    async def _drive(self) -> None:
        try:
            await self._run.execute()
        except BaseException as error:  # handed to the consumer, which re-raises it
            self._queue.put_nowait(_Failed(error))

    async def aclose(self) -> None:
        """Cancels the run if it is still going and waits until it has ended."""
        if self._task is None or self._task.done():
            return
        self._run.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def __aenter__(self) -> RunStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
