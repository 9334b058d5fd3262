"""One sandboxed IPython kernel: its process, its directory, its channels, and one execution.

Each kernel owns a host directory (root's, where code runs as another uid) with:
- `work/`: the code's working directory;
- `run/`: the kernel's ipc sockets (and a started kernel's connection file), written by the
  kernel;
- `host/`: the kernel's log and exit code and the images its cells displayed, never visible
  to the code.
The code can change anything in `work/` and `run/`, so the host names nothing there after the
kernel has started except through a directory fd with O_NOFOLLOW and O_EXCL (images), and
`run/` is made anew for every start. The key reaches the kernel on its standard input (a
started kernel) or the template's request line (a forked one). It talks to ipykernel over ipc
sockets (TCP cannot cross the network namespace) and interrupts by message (a signal would hit
bubblewrap). Restarts keep the working directory; `aclose` removes it all.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import secrets
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from harmony_agent.sandbox._cgroup import PREFIX, Cgroup, owner_alive
from harmony_agent.sandbox._channels import (
    MAX_FRAMES,
    MAX_MESSAGE_BYTES,
    ChannelBroken,
    KernelChannels,
    connection_info,
)
from harmony_agent.sandbox._config import SandboxConfig
from harmony_agent.sandbox._errors import KernelStartError, SandboxClosed
from harmony_agent.sandbox._isolation import IsolationReport
from harmony_agent.sandbox._launch import (
    NOBODY,
    RUN_DIR,
    bootstrap_command,
    build_launch,
    python_install,
)
from harmony_agent.sandbox._output import ImageFiles, OutputCollector
from harmony_agent.sandbox._process import (
    ForkedProcess,
    KernelProcess,
    SpawnedProcess,
    log_tail,
)
from harmony_agent.sandbox._result import ExecutionResult
from harmony_agent.sandbox._template import KernelTemplate, memory_directory

__all__ = ["Kernel", "make_root", "remove_orphans"]

logger = logging.getLogger("harmony_agent.sandbox")


class Kernel:
    """A kernel process in the sandbox. Create with `await Kernel.start(config, report)`."""

    def __init__(
        self,
        config: SandboxConfig,
        report: IsolationReport,
        root: Path,
        template: KernelTemplate | None = None,
    ) -> None:
        self.config = config
        self.report = report
        self.root = root
        self.workdir = root / "work"
        self._run = root / "run"
        self._host = root / "host"
        self._key = secrets.token_hex(16)
        self._template = template
        self._process: KernelProcess | None = None
        self._exited: asyncio.Task[int] | None = None
        self._channels: KernelChannels | None = None
        self._cgroup: Cgroup | None = None
        self._images = 1
        self._oom_kills = 0  # the cgroup's count when the current execution began
        self._closed = False
        self._lock = asyncio.Lock()

    @classmethod
    async def start(
        cls,
        config: SandboxConfig,
        report: IsolationReport,
        *,
        template: KernelTemplate | None = None,
    ) -> Kernel:
        """Creates the kernel's directory and starts it, forked from `template` if given;
        raises `KernelStartError`.
        """
        making = asyncio.ensure_future(asyncio.to_thread(make_root, report, template))
        try:
            root = await asyncio.shield(making)
        except asyncio.CancelledError:  # the thread goes on: remove what it creates
            with contextlib.suppress(Exception):
                await asyncio.to_thread(shutil.rmtree, await making, True)
            raise
        kernel = cls(config, report, root, template)
        try:
            await kernel._spawn()
        except BaseException:
            await kernel.aclose()
            raise
        return kernel

    @property
    def cgroup(self) -> Cgroup | None:
        """The cgroup holding the kernel's process tree (None where cgroups are unavailable)."""
        return self._cgroup

    @property
    def pid(self) -> int | None:
        """The pid of the kernel's outermost process (the wrapper), while it runs."""
        return self._process.pid if self._process else None

    async def _spawn(self) -> None:
        config, layers = self.config, self.report.layers
        install = python_install(config.python)
        inside = RUN_DIR if layers.bubblewrap else str(self._run)
        preparing = asyncio.ensure_future(asyncio.to_thread(self._prepare))
        try:
            self._cgroup = await asyncio.shield(preparing)
        except asyncio.CancelledError:  # the thread goes on: keep its cgroup to remove it
            with contextlib.suppress(Exception):
                self._cgroup = await preparing
            raise
        if self._template is not None:
            self._process = await self._template.fork(self.root, self._cgroup, self._key)
        else:
            inner = bootstrap_command(
                install, config, f"{inside}/kernel.json", cgroup=self._cgroup is not None
            )
            launch = build_launch(
                inner,
                layers=layers,
                config=config,
                install=install,
                work=self.workdir,
                run=self._run,
                procs_files=self._cgroup.procs_files if self._cgroup else (),
            )
            self._process = await SpawnedProcess.start(
                launch.argv,
                launch.env,
                launch.cwd,
                log=self._host / "kernel.log",
                stdin=json.dumps(connection_info(inside, self._key)).encode(),
            )
        self._exited = asyncio.create_task(self._process.wait())
        ready = asyncio.create_task(self._connect())
        try:
            done, _ = await asyncio.wait(
                {ready, self._exited},
                timeout=config.start_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:  # also when the start is cancelled: no handshake may outlive it
            if not ready.done():
                ready.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ready
        if ready in done and ready.exception() is None:
            return
        await self._kill()
        log = await asyncio.to_thread(log_tail, self._host / "kernel.log")
        raise KernelStartError(f"the kernel did not start: {log or 'no answer in time'}")

    async def _connect(self) -> None:
        """Connects and waits until the kernel's output reaches this host."""
        self._channels = KernelChannels(connection_info(str(self._run), self._key))
        await self._handshake(self._channels)

    @staticmethod
    async def _handshake(channels: KernelChannels) -> None:
        """Waits until the kernel has started and its output reaches this host (a subscriber
        misses what is published before it is connected): a kernel says it is starting
        once, on iopub, when it has set everything up. Where that was missed, it is asked
        for kernel info until that request's status arrives.
        """
        asked: str | None = None
        while True:
            try:
                async with asyncio.timeout(0.1):
                    while True:
                        message = await channels.output()
                        state = message["content"].get("execution_state")
                        if message["msg_type"] == "status" and state == "starting":
                            return
                        if asked and message["parent_header"].get("msg_id") == asked:
                            return
            except TimeoutError:
                asked = channels.request("kernel_info_request", {})

    def _prepare(self) -> Cgroup | None:
        """Makes a new, empty `run/` (what a previous kernel left there is the code's) and
        creates the cgroup (blocking: run in a thread).
        """
        shutil.rmtree(self._run, ignore_errors=True)  # fd-based: follows no link inside
        _make_directory(self._run, self.report)
        if not self.report.layers.cgroup:
            return None
        return Cgroup.create(
            memory_bytes=self.config.memory_mb << 20, max_processes=self.config.max_processes
        )

    async def execute(
        self,
        code: str,
        timeout: float | None = None,  # noqa: ASYNC109 (interrupts the cell, not the call)
    ) -> ExecutionResult:
        """Runs `code`; on timeout interrupts, and restarts if the interrupt is ignored.

        A kernel found dead (before or during the call) is restarted; the result says so.
        """
        async with self._lock:
            if self._closed:
                raise SandboxClosed("the kernel is closed")
            return await self._execute(code, timeout or self.config.cell_timeout_s)

    async def _execute(self, code: str, limit_s: float) -> ExecutionResult:
        started = time.monotonic()
        died: str | None = None
        if self._exit().done():
            died = self._death_reason()
            await self._restart()
        self._oom_kills = self._cgroup.oom_kills() if self._cgroup else 0
        owner = NOBODY if self.report.layers.setpriv else None
        images = ImageFiles(host=self._host / "images", work=self.workdir, owner=owner)
        collector = OutputCollector(self.config.output_chars, images, self._images)
        channels = self._connected()
        dropped = channels.dropped
        msg_id = channels.request(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
        )
        replied = channels.reply(msg_id)  # its payloads: what `name?` shows in a pager
        reading = asyncio.create_task(self._read(msg_id, collector))
        try:
            timed_out, finished = await self._wait(reading, limit_s)
            if finished:
                await self._take_payloads(replied, collector)
        except asyncio.CancelledError:  # the caller gave up: stop the cell, keep the kernel
            reading.cancel()
            self._interrupt()
            raise
        finally:
            channels.forget(msg_id)
        if channels.dropped > dropped:
            collector.stderr.add(
                f"[{channels.dropped - dropped} messages from the kernel were dropped: over "
                f"{MAX_MESSAGE_BYTES >> 20} MiB or {MAX_FRAMES} frames, or malformed]\n"
            )
        if not finished:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, ChannelBroken):
                await reading
            if self._exit().done():
                died = self._death_reason()
            elif reading.done() and not reading.cancelled() and reading.exception():
                died = "it broke its connection to the host"
            await self._restart()
        self._images = collector.next_image
        return ExecutionResult(
            stdout=collector.stdout.text(),
            stderr=collector.stderr.text(),
            result=None if collector.result is None else collector.result.text(),
            error=None if collector.error is None else collector.error.text(),
            images=tuple(collector.images),
            timed_out=timed_out,
            restarted=not finished or died is not None,
            died=died,
            duration_s=time.monotonic() - started,
        )

    async def _take_payloads(
        self, replied: asyncio.Future[dict[str, Any]], collector: OutputCollector
    ) -> None:
        """Adds the pages of the execute reply to the output. The kernel sent the reply
        before the idle status that ended the cell, on another socket: it is in, or on its
        way; a kernel whose code withheld it gets `interrupt_grace_s`.
        """
        try:
            async with asyncio.timeout(self.config.interrupt_grace_s):
                reply = await asyncio.shield(replied)
        except (TimeoutError, ChannelBroken):
            return
        collector.add_payloads(reply["content"])

    async def _wait(self, reading: asyncio.Task[None], limit_s: float) -> tuple[bool, bool]:
        """Waits for the cell to finish: (timed out, finished with the kernel alive)."""
        exited = self._exit()
        done, _ = await asyncio.wait(
            {reading, exited}, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED
        )
        timed_out = not done
        if timed_out:
            self._interrupt()
            done, _ = await asyncio.wait(
                {reading, exited},
                timeout=self.config.interrupt_grace_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        if reading not in done:
            return timed_out, False
        if isinstance(reading.exception(), ChannelBroken):  # a dying kernel's ends first
            await asyncio.wait({exited}, timeout=self.config.interrupt_grace_s)
            return timed_out, False
        reading.result()  # raises what is a bug
        return timed_out, True

    def _connected(self) -> KernelChannels:
        if self._channels is None:
            raise SandboxClosed("the kernel is closed")
        return self._channels

    def _exit(self) -> asyncio.Task[int]:
        if self._exited is None:
            raise SandboxClosed("the kernel is closed")
        return self._exited

    async def _read(self, msg_id: str, collector: OutputCollector) -> None:
        channels = self._connected()
        while True:
            message = await channels.output()
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                return
            collector.add(kind, content)

    def _interrupt(self) -> None:
        self._connected().request("interrupt_request", {}, control=True)

    def _death_reason(self) -> str:
        code = self._exit().result()
        oom = self._cgroup.oom_kills() if self._cgroup else 0
        if oom > self._oom_kills:
            return "killed for using more memory than allowed"
        number = -code if code < 0 else code - 128 if code > 128 else 0
        with contextlib.suppress(ValueError):
            if number:
                return f"killed by signal {signal.Signals(number).name}"
        return f"exited with status {code}"

    async def _restart(self) -> None:
        logger.info("restarting the kernel in %s", self.root)
        await self._kill()
        await self._spawn()

    async def _kill(self) -> None:
        """Closes the channels and kills the process tree (cgroup, process group, wrapper)."""
        if self._channels is not None:
            self._channels.close()
            self._channels = None
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            await process.wait()
            if isinstance(process, ForkedProcess):
                process.close()
        cgroup, self._cgroup = self._cgroup, None
        if cgroup is not None and not await asyncio.to_thread(cgroup.dispose):
            logger.warning("could not remove cgroup %s", cgroup.directories)

    async def aclose(self) -> None:
        """Kills the kernel and deletes its directory (working files included)."""
        async with self._lock:
            self._closed = True
            await self._kill()
            if self._exited is not None:
                self._exited.cancel()
            await asyncio.to_thread(shutil.rmtree, self.root, True)


@functools.cache
def remove_orphans() -> None:
    """Once per process: removes what killed processes left (their cgroups, directories)."""
    groups = Cgroup.remove_orphans()
    directories = 0
    temporary = Path(tempfile.gettempdir())
    for place in {temporary, memory_directory() or temporary}:  # kernels', programs' places
        for directory in place.glob(f"{PREFIX}*"):
            if directory.is_dir() and not owner_alive(directory.name):
                shutil.rmtree(directory, ignore_errors=True)
                directories += 1
    if groups or directories:
        logger.info("removed %d cgroups and %d directories of dead sandboxes", groups, directories)


def _make_directory(path: str | Path, report: IsolationReport) -> None:
    """Creates `path`, owned by the sandbox uid where code runs as it."""
    os.mkdir(path)
    if report.layers.setpriv:
        os.chown(path, NOBODY, NOBODY)


def make_root(
    report: IsolationReport, template: KernelTemplate | None, *, images: bool = True
) -> Path:
    """Creates a kernel's host directory: `work/` for the code (owned by the sandbox uid
    where code runs as it), `host/` for the host only, with `host/images/` for a kernel's
    images unless `images` is False (a one-shot program shows none); `run/` is made at each
    start.
    """
    remove_orphans()
    if template is not None:
        root = template.new_root()
    else:
        root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    host = f"{root}/host"  # text paths: this runs for every one-shot program
    _make_directory(f"{root}/work", report)
    os.mkdir(host, 0o700)
    if images:
        os.mkdir(f"{host}/images")
    if report.layers.setpriv:
        os.chmod(root, 0o711)
    return root
