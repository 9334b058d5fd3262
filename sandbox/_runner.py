"""One-shot programs: code (with stdin and files) in, exit status, output and usage out.

Each program runs once, in a process forked from a kernel template (one started for programs
only, which imports no ipykernel: a small process forks fast) with the layers a forked kernel
gets (its own pid, mount, network, ipc and uts namespaces, uid 65534 without
capabilities, its own cgroup, the rlimits, only its working directory writable), and no
Jupyter messaging: it runs as `__main__` by `exec` with its stdin from a file and its stdout
and stderr on fifos. Its directory is the host's, like a kernel's: `work/` (the program's
working directory, with the given files), and `host/` (never visible to the program: its
stdin, the fifos, its log, exit status and CPU count). The host holds each fifo's reading
end open for reading and writing before the program exists, reads what arrives into bounded
text, and names nothing in `work/` once the program has started. The program is pid 2 of
its pid namespace, under a pid 1 that is no Python (see the template): when the program
ends or its time is up, that pid 1 is killed and with it every process of the namespace,
then its cgroup is emptied and removed. Where a cgroup caps memory, the directory is in
memory.
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import contextlib
import functools
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from harmony_agent.sandbox._cgroup import Cgroup, CgroupPool
from harmony_agent.sandbox._config import SandboxConfig
from harmony_agent.sandbox._errors import (
    ConfigError,
    IsolationUnavailable,
    KernelStartError,
    SandboxClosed,
)
from harmony_agent.sandbox._files import CopyLimits, copy_tree_now, write_all, write_files
from harmony_agent.sandbox._isolation import IsolationReport, check_isolation
from harmony_agent.sandbox._kernel import make_root, remove_orphans
from harmony_agent.sandbox._launch import NOBODY, kernel_limits
from harmony_agent.sandbox._output import BoundedText
from harmony_agent.sandbox._process import log_tail
from harmony_agent.sandbox._result import ProgramResult
from harmony_agent.sandbox._template import KernelTemplate, PendingFork, memory_directory

__all__ = ["ProgramRunner"]

_CHUNK = 1 << 16
_MAX_USAGE_BYTES = 4096
_SMALL = 1 << 20
"""Stdin and files up to this size are written in the event loop, larger ones in a thread."""


class ProgramRunner:
    """Runs Python programs once each, isolated, concurrently if you like.

    ```python
    async with ProgramRunner(SandboxConfig(memory_mb=512)) as runner:
        result = await runner.run("print(input()[::-1])", stdin="abc", timeout_s=5)
        print(result.exit_code, result.stdout)   # 0 cba
    ```
    The config's limits apply to each program (memory, processes, file size, open files,
    network, read-only mounts); `cell_timeout_s` is the default timeout, `output_chars` the
    characters kept per stream. Where a cgroup caps memory, each program's directory is in
    memory (/dev/shm): the files it writes count toward `memory_mb`. It needs what the
    kernel template needs (bubblewrap, as root or as a user with user namespaces):
    elsewhere `start` raises `IsolationUnavailable`.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        if self.config.files:
            raise ConfigError("ProgramRunner: give files to each `run`, not in the config")
        self._template: KernelTemplate | None = None
        self._report: IsolationReport | None = None
        self._cleanups: set[asyncio.Future[None]] = set()
        self._cgroups = CgroupPool(
            memory_bytes=self.config.memory_mb << 20, max_processes=self.config.max_processes
        )
        self._spares: collections.deque[asyncio.Future[_Task]] = collections.deque()
        """Tasks made ahead, as many as runs are in flight (at least one)."""
        self._running = 0

    async def __aenter__(self) -> ProgramRunner:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Starts the template process the programs are forked from."""
        if self._template is not None:
            return
        report = await asyncio.to_thread(check_isolation, self.config)
        if self.config.require_isolation and not report.complete:
            raise IsolationUnavailable("; ".join(report.lines()))
        if not KernelTemplate.supported(report):
            raise IsolationUnavailable(
                "one-shot programs need bubblewrap and an unprivileged uid (as forked kernels "
                "do): " + "; ".join(report.lines())
            )
        await asyncio.to_thread(remove_orphans)
        # a program's files count toward its memory where a cgroup caps it: then they are
        # in memory, which is several times faster to make and remove than a disk's
        directory = memory_directory() if report.layers.cgroup else None
        self._template = await KernelTemplate.start(self.config, kernels=False, directory=directory)
        self._report = report
        self._spares.append(self._new_spare())

    @property
    def report(self) -> IsolationReport:
        """The isolation layers the programs run under."""
        if self._report is None:
            raise SandboxClosed("the runner is not started")
        return self._report

    async def run(
        self,
        code: str,
        *,
        stdin: str | bytes = b"",
        files: Mapping[str, str | bytes] | None = None,
        directory: Path | None = None,
        timeout_s: float | None = None,
    ) -> ProgramResult:
        """Runs `code` in a fresh sandbox with `stdin` on its standard input and, in its
        working directory, a copy of what the host `directory` holds (directories and
        regular files only, no link followed; what else was there the result's
        `not_copied` says) and `files` (relative path: content); kills every process of it
        after `timeout_s` (default: the config's `cell_timeout_s`).

        Raises `CopyError` for a file path outside the working directory or a copy the host
        fails, `CopyLimitExceeded` when `directory` holds more than 10,000 entries, a file
        over `max_file_mb` or 1 GiB in all, `SandboxClosed` before `start` or after
        `aclose`, `KernelStartError` when the template or the program's sandbox fails (with
        what it said).
        """
        self._require()
        report = self.report
        limit = timeout_s if timeout_s is not None else self.config.cell_timeout_s
        limits = kernel_limits(self.config, cgroup=report.layers.cgroup)
        limits["cpu"] = min(limits["cpu"], math.ceil(limit) + 1)
        given = {
            name: data.encode() if isinstance(data, str) else data
            for name, data in (files or {}).items()
        }
        data = stdin.encode() if isinstance(stdin, str) else stdin
        self._running += 1
        try:
            task = await self._take()
            try:
                if directory is None and len(data) + sum(map(len, given.values())) <= _SMALL:
                    task.fill(data, given, None)  # a few small writes: no thread
                else:
                    await _in_thread(functools.partial(task.fill, data, given, directory))
                return await task.run(code, limits, limit)
            finally:  # every process of it is gone: the result need not wait for the removal
                self._clean_up(task)
        finally:
            self._running -= 1

    async def _take(self) -> _Task:
        """A spare task (its directory, cgroup and process made ahead, the process waiting
        for the code); as many new spares are started in the background as runs are in flight, so
        that each of them finds one made when it ends and takes the next.
        """
        spare = self._spares.popleft() if self._spares else self._new_spare()
        while len(self._spares) < self._running:
            self._spares.append(self._new_spare())
        try:
            return await asyncio.shield(spare)
        except asyncio.CancelledError:  # made for nobody now: removed once it is made
            spare.add_done_callback(self._clean_up_made)
            raise

    def _new_spare(self) -> asyncio.Future[_Task]:
        return asyncio.ensure_future(self._new_task())

    async def _new_task(self) -> _Task:
        """A task with its directory and cgroup made and its process forked, waiting."""
        task = _Task(self.config, self.report, self._require(), self._cgroups)
        try:
            task.prepare()  # a few small files and a kept cgroup: no thread
            await task.fork()
        except BaseException:
            await task.close()
            raise
        return task

    def _clean_up(self, task: _Task) -> None:
        """Closes `task` in the background (`aclose` waits for it)."""
        cleanup = asyncio.ensure_future(task.close())
        self._cleanups.add(cleanup)
        cleanup.add_done_callback(self._cleanups.discard)

    def _clean_up_made(self, made: asyncio.Future[_Task]) -> None:
        if not made.cancelled() and made.exception() is None:
            self._clean_up(made.result())

    async def aclose(self) -> None:
        """Ends the template process and with it every program still running, once the
        directories and cgroups of those that ended are removed.
        """
        await self._settle()
        template, self._template = self._template, None
        if template is not None:
            await template.aclose()
        await self._settle()
        await asyncio.to_thread(self._cgroups.close)

    async def _settle(self) -> None:
        """Waits for the spare and every clean-up, those of runs that end meanwhile too."""
        while self._spares or self._cleanups:
            if self._spares:
                with contextlib.suppress(Exception):
                    self._clean_up(await self._spares.popleft())
            await asyncio.gather(*self._cleanups, return_exceptions=True)

    def _require(self) -> KernelTemplate:
        if self._template is None:
            raise SandboxClosed("the runner is not started or already closed")
        return self._template


class _Task:
    """One program's directory, cgroup (from `cgroups`, given back there), output and
    process.
    """

    def __init__(
        self,
        config: SandboxConfig,
        report: IsolationReport,
        template: KernelTemplate,
        cgroups: CgroupPool,
    ) -> None:
        self._config = config
        self._report = report
        self._template = template
        self._cgroups = cgroups
        self._root: Path | None = None
        self._host = ""
        """`host/` of the root, as text: a program's few file operations there make no Path."""
        self._cgroup: Cgroup | None = None
        self._init: PendingFork | None = None
        self._started = False
        self._streams: list[_Stream] = []
        self._usage: dict[str, float] = {}
        self._peak: int | None = None
        self._oom_kills = 0
        self._not_copied: str | None = None

    def prepare(self) -> None:
        """Makes the directory (the output fifos) and takes or makes the cgroup. Blocking."""
        self._root = root = make_root(self._report, self._template, images=False)
        self._host = f"{root}/host"
        for name in ("stdout", "stderr"):
            fifo = f"{self._host}/{name}"
            os.mkfifo(fifo, 0o600)
            fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK | os.O_NOFOLLOW)
            self._streams.append(_Stream(fd, self._config.output_chars))
        if self._report.layers.cgroup:
            self._cgroup = self._cgroups.take()

    async def fork(self) -> None:
        """Forks the program's process, which waits isolated in the cgroup for the code."""
        assert self._root is not None
        self._init = await self._template.fork_program(self._root, self._cgroup)

    def fill(self, stdin: bytes, files: Mapping[str, bytes], directory: Path | None) -> None:
        """Writes the program's stdin, copies `directory` and writes its files. Blocking."""
        assert self._root is not None
        _write_new(f"{self._host}/stdin", stdin)
        owner = NOBODY if self._report.layers.setpriv else None
        if directory is not None:
            limits = CopyLimits(file_bytes=self._config.max_file_mb << 20)
            copied = copy_tree_now(directory, self._root / "work", limits, owner)
            self._not_copied = copied.skipped_summary()
        if files:
            write_files(self._root / "work", files, owner=owner)

    async def run(self, code: str, limits: dict[str, int], limit_s: float) -> ProgramResult:
        """Runs the program, reading its output, until it ends or `limit_s` passes."""
        assert self._root is not None and self._init is not None
        self._started = True
        process = await self._init.go(limits, code)
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        for stream in self._streams:
            loop.add_reader(stream.fd, stream.read)
        timed_out, exit_code = False, None
        try:
            try:
                async with asyncio.timeout(limit_s):
                    exit_code = await process.wait()
            except TimeoutError:
                timed_out = True
        finally:
            process.kill()  # its pid 1: the namespace and every process in it go too
            await process.wait()
            duration = time.monotonic() - started
            process.close()
            for stream in self._streams:
                loop.remove_reader(stream.fd)
        self._account()
        if exit_code != 0 and not timed_out:  # its log has lines if none of its code ran
            failure = log_tail(self._root / "host" / "kernel.log")
            if failure:
                raise KernelStartError(f"the program's sandbox failed: {failure}")
        stdout, stderr = (stream.finish() for stream in self._streams)
        peak = self._peak
        if peak is None and "max_rss_kb" in self._usage:
            peak = int(self._usage["max_rss_kb"]) << 10
        cpu = self._usage.get("cpu_s")
        return ProgramResult(
            exit_code=exit_code,
            stdout=stdout,
            stderr=stderr,
            timed_out=timed_out,
            memory_killed=self._oom_kills > 0,
            duration_s=round(duration, 6),
            cpu_s=None if cpu is None else round(cpu, 6),
            peak_memory_bytes=peak,
            not_copied=self._not_copied,
        )

    def _account(self) -> None:
        """Reads what the task used: the template's count and its cgroup's peak and OOM
        kills (three small reads, in place: a pid namespace's pid 1 ends after every
        process of it, so nothing is left to kill here; `finish` checks).
        """
        self._usage = _read_usage(f"{self._host}/usage")
        if self._cgroup is not None:
            self._peak = self._cgroup.peak_memory()
            self._oom_kills = self._cgroup.oom_kills()

    async def close(self) -> None:
        """Ends the program's process if its code never started, then `finish`es."""
        if self._init is not None and not self._started:
            await self._init.drop()
            self._init.process.close()
        await asyncio.to_thread(self.finish)

    def finish(self) -> None:
        """Removes the directory, closes the fifos, and keeps the emptied cgroup for the next
        program (or removes it). Blocking.
        """
        for stream in self._streams:
            os.close(stream.fd)
        self._streams = []
        if self._root is not None:  # first: its files' page cache is the group's memory
            shutil.rmtree(self._root, ignore_errors=True)  # fd-based: follows no link inside
        cgroup, self._cgroup = self._cgroup, None
        if cgroup is not None:
            self._cgroups.give_back(cgroup)


class _Stream:
    """The reading end of one output fifo, read into bounded text as the program writes."""

    def __init__(self, fd: int, limit: int) -> None:
        self.fd = fd
        self._text = BoundedText(limit)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def read(self) -> bool:
        """Reads one chunk if there is one (a flood cannot hold the event loop); whether it
        read something.
        """
        try:
            chunk = os.read(self.fd, _CHUNK)
        except BlockingIOError:
            return False
        self._text.add(self._decoder.decode(chunk))
        return bool(chunk)

    def finish(self) -> str:
        """Reads what is left (every writer is gone) and returns the kept text."""
        while self.read():
            pass
        self._text.add(self._decoder.decode(b"", final=True))
        return self._text.text()


async def _in_thread(work: Callable[[], None]) -> None:
    """Runs `work` in a thread; cancelled, waits for it to end first (it cannot be stopped)."""
    running = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        await asyncio.shield(running)
    except BaseException:
        with contextlib.suppress(BaseException):
            await running
        raise


def _write_new(path: str, data: bytes) -> None:
    """Writes `data` to the new file `path` (the host's own directory: no link expected,
    none followed).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def _read_usage(path: str) -> dict[str, float]:
    """The CPU count the template wrote (empty when it was killed first); at most 4 KiB is
    read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return {}
    try:
        data = os.read(fd, _MAX_USAGE_BYTES)
    finally:
        os.close(fd)
    try:
        usage = json.loads(data)
    except ValueError:
        return {}
    if not isinstance(usage, dict):
        return {}
    return {k: float(v) for k, v in usage.items() if isinstance(v, int | float)}
