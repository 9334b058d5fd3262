"""One run of an agent, shown by the printer and written to the trace as it goes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator

from harmony_agent import Agent, History, RunResult
from harmony_agent.traces import Record, TraceWriter, event_record

__all__ = ["stream_turn"]


async def stream_turn(
    agent: Agent,
    prompt: str,
    *,
    history: History | None,
    show: Callable[[Record], None],
    trace: TraceWriter | None,
    cancel_on_interrupt: bool = False,
) -> RunResult:
    """Runs `prompt`, handing each event to `show` (as a record) and `trace`.

    With `cancel_on_interrupt`, Ctrl-C ends the run with `StopReason.CANCELLED` instead of
    raising KeyboardInterrupt (for `chat`, where the session goes on).
    """
    if trace is not None:
        shown = 0 if history is None else len(history.for_next_turn().entries)
        trace.start(prompt, history_messages=shown)
    show({"type": "run_started", "prompt": prompt})
    stream = agent.stream(prompt, history=history)
    try:
        with _interrupt_cancels(stream.cancel) if cancel_on_interrupt else contextlib.nullcontext():
            async with stream:
                async for event in stream:
                    if trace is not None:
                        trace(event)
                    show(event_record(event))
    except Exception as error:
        if trace is not None:
            trace.error(error)
        raise
    return stream.result


@contextlib.contextmanager
def _interrupt_cancels(cancel: Callable[[], None]) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, cancel)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
