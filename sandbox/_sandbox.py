"""The sandbox's API: one isolated, stateful Python kernel with its own working directory."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from harmony_agent.sandbox._config import WORKDIR, SandboxConfig
from harmony_agent.sandbox._errors import ConfigError, IsolationUnavailable, SandboxClosed
from harmony_agent.sandbox._files import copy_in
from harmony_agent.sandbox._isolation import IsolationReport, check_isolation
from harmony_agent.sandbox._kernel import Kernel
from harmony_agent.sandbox._launch import NOBODY
from harmony_agent.sandbox._pool import KernelPool
from harmony_agent.sandbox._result import ExecutionResult

__all__ = ["Sandbox"]

logger = logging.getLogger("harmony_agent.sandbox")

POOL_HINT_AFTER = 3
"""After this many kernels started without a pool in one process, a pool is suggested, once."""


class _StartsWithoutPool:
    """Counts the kernels this process started without a pool, to suggest one once."""

    count = 0
    hinted = False

    @classmethod
    def note(cls) -> None:
        cls.count += 1
        if cls.count >= POOL_HINT_AFTER and not cls.hinted:
            cls.hinted = True
            logger.warning(
                "%d sandboxes in this process each started a kernel of their own; where many "
                "short-lived sandboxes run, share a KernelPool(config, fork=True) and open each "
                "as Sandbox(pool=pool): its kernels are forked from a template ahead of time "
                "instead of started (bench/results/sandbox.md measures both)",
                cls.count,
            )


class Sandbox:
    """A stateful Python kernel in the sandbox; state lasts until `aclose`.

    ```python
    async with Sandbox(SandboxConfig(cell_timeout_s=10)) as sandbox:
        await sandbox.execute("x = 21")
        result = await sandbox.execute("x * 2")   # result.result == "42"
    ```
    With a `pool`, the kernel comes from it (already started; the pool's config applies).
    Without one, each sandbox starts a kernel of its own: where many short-lived sandboxes run
    in one process, share a `KernelPool(config, fork=True)` (a log line says so once).
    """

    def __init__(self, config: SandboxConfig | None = None, *, pool: KernelPool | None = None):
        if pool is not None and config is not None and config != pool.config:
            raise ConfigError("Sandbox: `config` differs from the pool's config")
        self.config = pool.config if pool is not None else config or SandboxConfig()
        self._pool = pool
        self._kernel: Kernel | None = None
        self._report: IsolationReport | None = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Starts (or takes from the pool) the kernel and copies the configured files in."""
        if self._kernel is not None:
            return
        if self._pool is not None:
            report = await self._pool.report()
        else:
            report = await asyncio.to_thread(check_isolation, self.config)
        if self.config.require_isolation and not report.complete:
            raise IsolationUnavailable("; ".join(report.lines()))
        if self._pool is not None:
            kernel = await self._pool.acquire()
        else:
            kernel = await Kernel.start(self.config, report)
            _StartsWithoutPool.note()
        self._kernel, self._report = kernel, report
        if self.config.files:
            try:
                owner = NOBODY if report.layers.setpriv else None
                await asyncio.to_thread(copy_in, self.config.files, kernel.workdir, owner=owner)
            except BaseException:
                await self.aclose()
                raise

    @property
    def report(self) -> IsolationReport:
        """The isolation layers the kernel runs under."""
        if self._report is None:
            raise SandboxClosed("the sandbox is not started")
        return self._report

    @property
    def kernel(self) -> Kernel:
        """The running kernel (its process, cgroup and directory)."""
        return self._require()

    @property
    def workdir(self) -> Path:
        """The working directory on the host (images and files the code writes are here)."""
        return self._require().workdir

    @property
    def code_workdir(self) -> str:
        """The working directory as the code sees it."""
        return WORKDIR if self.report.bubblewrap else str(self.workdir)

    async def execute(
        self,
        code: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (interrupts the cell, not the call)
    ) -> ExecutionResult:
        """Runs `code` in the kernel; `timeout` defaults to the config's `cell_timeout_s`."""
        return await self._require().execute(code, timeout)

    async def aclose(self) -> None:
        """Kills the kernel and deletes its working directory."""
        kernel, self._kernel = self._kernel, None
        if kernel is not None:
            await kernel.aclose()

    def _require(self) -> Kernel:
        if self._kernel is None:
            raise SandboxClosed("the sandbox is not started or already closed")
        return self._kernel
