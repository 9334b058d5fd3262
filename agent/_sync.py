"""Runs coroutines for synchronous callers, on one event loop per thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")
_local = threading.local()


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs `coroutine` to completion on this thread's event loop.

    The loop is kept between calls, so an engine bound to it keeps working. Raises
    RuntimeError inside a running event loop, where the caller should `await` instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coroutine.close()
        raise RuntimeError("run() cannot be called from a running event loop; await arun()")
    runner: asyncio.Runner | None = getattr(_local, "runner", None)
    if runner is None:
        runner = asyncio.Runner()
        _local.runner = runner
    return runner.run(coroutine)
