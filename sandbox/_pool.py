"""Kernels started ahead of time, so a session gets a live one without waiting."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from harmony_agent.sandbox._config import SandboxConfig
from harmony_agent.sandbox._errors import ConfigError, SandboxClosed
from harmony_agent.sandbox._isolation import IsolationReport, check_isolation
from harmony_agent.sandbox._kernel import Kernel
from harmony_agent.sandbox._template import KernelTemplate

__all__ = ["KernelPool"]

logger = logging.getLogger("harmony_agent.sandbox")


class KernelPool:
    """Keeps `size` kernels started with `config`; each is handed out once, never reused.

    ```python
    async with KernelPool(config, size=4) as pool:
        async with Sandbox(config, pool=pool) as sandbox: ...
    ```
    A hand-out starts a replacement in the background; when none is ready, `acquire` waits
    for the next one to finish starting.

    With `fork=True` kernels are forked from a template process that set up ipykernel once
    (about a tenth of the CPU of a fresh start; needs bubblewrap, as root or as a user with
    user namespaces, else kernels start normally and a warning says so). Forked kernels have
    no debugger and no jedi completion. Closing such a pool ends the kernels it handed out.
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, size: int = 2, fork: bool = False
    ) -> None:
        if size < 1:
            raise ConfigError("a kernel pool needs size >= 1")
        self.config = config or SandboxConfig()
        self.size = size
        self.fork = fork
        self._template: KernelTemplate | None = None
        self._template_lock = asyncio.Lock()
        self._ready: asyncio.Queue[Kernel | BaseException] = asyncio.Queue()
        self._starting: set[asyncio.Task[None]] = set()
        self._pending = 0  # kernels starting and not yet in `_ready`
        self._report: IsolationReport | None = None
        self._closed = False

    async def __aenter__(self) -> KernelPool:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def report(self) -> IsolationReport:
        """The isolation layers this pool's kernels run under."""
        if self._report is None:
            self._report = await asyncio.to_thread(check_isolation, self.config)
        return self._report

    async def start(self) -> None:
        """Begins starting kernels until `size` are ready or starting."""
        if self._closed:
            raise SandboxClosed("the kernel pool is closed")
        report = await self.report()
        if self.fork:
            async with self._template_lock:
                if self._template is None and KernelTemplate.supported(report):
                    self._template = await KernelTemplate.start(self.config)
                elif self._template is None:
                    logger.warning(
                        "forking kernels needs bubblewrap and an unprivileged uid: starting them"
                    )
                    self.fork = False
        while self._ready.qsize() + self._pending < self.size:
            self._pending += 1
            task = asyncio.create_task(self._start_one())
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    async def _start_one(self) -> None:
        try:
            kernel = await Kernel.start(self.config, await self.report(), template=self._template)
        except Exception as error:  # handed to the waiting `acquire`, which raises it
            logger.warning("a pooled kernel failed to start: %s", error)
            self._pending -= 1
            self._ready.put_nowait(error)
            return
        except BaseException:
            self._pending -= 1
            raise
        self._pending -= 1
        if self._closed:
            await kernel.aclose()
        else:
            self._ready.put_nowait(kernel)

    async def acquire(self) -> Kernel:
        """Takes a started kernel out of the pool (the caller closes it when done)."""
        if self._closed:
            raise SandboxClosed("the kernel pool is closed")
        await self.start()
        item = await self._ready.get()
        await self.start()
        if isinstance(item, BaseException):
            raise item
        return item

    async def aclose(self) -> None:
        """Kills the kernels not handed out (and, forking, the template process and with it
        every kernel it forked) and stops starting new ones.
        """
        self._closed = True
        starting = list(self._starting)
        for task in starting:
            task.cancel()
        for task in starting:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while not self._ready.empty():
            item = self._ready.get_nowait()
            if isinstance(item, Kernel):
                await item.aclose()
        template, self._template = self._template, None
        if template is not None:
            await template.aclose()
