"""Where a batch's Python checks run: one-shot programs, or kernels where the host has none.

A check is stateless code judged by how it ends, what `ProgramRunner` is for: each check is
a fresh program forked from a template the batch starts once (a few milliseconds), instead of
a fresh kernel (about half a second). Where one-shot programs cannot run (no bubblewrap, or
root that cannot drop to an unprivileged uid), each check gets a fresh kernel, as before,
and the log says so once.
"""

from __future__ import annotations

import asyncio
import logging

from harmony_agent.sandbox import IsolationUnavailable, ProgramRunner, SandboxConfig

__all__ = ["CheckRunners"]

logger = logging.getLogger("harmony_agent.batch")


class CheckRunners:
    """The started `ProgramRunner` for each sandbox configuration a batch's checks use (one,
    in practice: the agent's python settings), each started at its first check; `aclose`
    ends them.
    """

    def __init__(self) -> None:
        self._runners: dict[SandboxConfig, ProgramRunner | None] = {}
        self._lock = asyncio.Lock()

    async def runner(self, config: SandboxConfig) -> ProgramRunner | None:
        """The runner for checks under `config` (its `files` aside: a check gets its own);
        None where one-shot programs cannot run here.
        """
        key = config.model_copy(update={"files": ()})
        async with self._lock:
            if key not in self._runners:
                self._runners[key] = await _started(key)
            return self._runners[key]

    async def aclose(self) -> None:
        """Ends every runner (a check still running ends with an error)."""
        runners, self._runners = self._runners, {}
        for runner in runners.values():
            if runner is not None:
                await runner.aclose()


async def _started(config: SandboxConfig) -> ProgramRunner | None:
    """A started runner with `config`, or None (logged) where one-shot programs cannot run."""
    runner = ProgramRunner(config)
    try:
        await runner.start()
    except IsolationUnavailable as error:
        logger.warning("python checks run in a fresh kernel each: %s", error)
        await runner.aclose()
        return None
    return runner
