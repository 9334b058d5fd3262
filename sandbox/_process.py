"""A kernel's outermost process, as the host sees it: started directly, or forked by the
kernel template process (not the host's child, so watched through a pidfd).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Protocol

__all__ = ["ForkedProcess", "KernelProcess", "SpawnedProcess", "log_tail"]


class KernelProcess(Protocol):
    """What the kernel needs of its process."""

    @property
    def pid(self) -> int:
        """The host pid of the outermost process."""

    async def wait(self) -> int:
        """Waits for the kernel to end: its exit code, or minus the signal that killed it."""

    def kill(self) -> None:
        """SIGKILLs the outermost process (its namespace and children go with it)."""


class SpawnedProcess:
    """A wrapper chain started by the host (sh, bwrap, setpriv, python)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @classmethod
    async def start(
        cls, argv: list[str], env: dict[str, str], cwd: Path, *, log: Path, stdin: bytes
    ) -> SpawnedProcess:
        """Starts `argv` in a session of its own, `stdin` on its standard input and its
        output going to `log` (a new file: the host's, in a directory only it can change).
        """
        output = await asyncio.to_thread(_create, log)
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                cwd=cwd,
                stdin=asyncio.subprocess.PIPE,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        finally:
            os.close(output)
        assert process.stdin is not None
        process.stdin.write(stdin)
        process.stdin.close()
        return cls(process)

    @property
    def pid(self) -> int:
        """The wrapper's pid."""
        return self._process.pid

    async def wait(self) -> int:
        """The exit code (bubblewrap passes the kernel's on)."""
        return await self._process.wait()

    def kill(self) -> None:
        """SIGKILLs the wrapper's process group."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)


class ForkedProcess:
    """A kernel or program forked by the template process, watched through the pid 1 of its
    pid namespace: the template writes the exit code to `exit_file` (in a directory only the
    host and the template can see) when it has reaped the kernel or program, then kills that
    pid 1.
    """

    def __init__(self, pid: int, exit_file: str) -> None:
        self._pid = pid
        self._exit_file = exit_file
        self._pidfd = os.pidfd_open(pid)
        self._watch: asyncio.Task[int] | None = None

    @property
    def pid(self) -> int:
        """The host pid of the pid 1 of the kernel's (or program's) pid namespace."""
        return self._pid

    async def wait(self) -> int:
        """Waits until the pid 1 is gone, then reads the code the template reported."""
        if self._watch is None:
            self._watch = asyncio.create_task(self._watch_exit())
        return await asyncio.shield(self._watch)

    async def _watch_exit(self) -> int:
        loop = asyncio.get_running_loop()
        gone: asyncio.Future[None] = loop.create_future()

        def exited() -> None:
            if not gone.done():
                gone.set_result(None)

        loop.add_reader(self._pidfd, exited)
        try:
            await gone
        finally:
            loop.remove_reader(self._pidfd)
        try:
            report = os.open(self._exit_file, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                return int(os.read(report, 16))
            finally:
                os.close(report)
        except (OSError, ValueError):
            return -signal.SIGKILL  # its pid 1 was killed before the template reported

    def kill(self) -> None:
        """SIGKILLs the pid 1; its pid namespace (the kernel or program) dies with it."""
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)

    def close(self) -> None:
        """Releases the pidfd (after the pid 1 is gone)."""
        os.close(self._pidfd)


def _create(path: Path) -> int:
    """Opens a new file at `path` for writing (replacing one there, never following a link)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)


def log_tail(log: Path, limit: int = 2000) -> str:
    """The end of a log a kernel (or a program's process) wrote to through its output; never
    more than `limit` bytes are read.
    """
    try:
        with log.open("rb") as file:
            file.seek(max(file.seek(0, os.SEEK_END) - limit, 0))
            return file.read(limit).decode(errors="replace").strip()
    except OSError:
        return ""
