"""The kernel template process: ipykernel imported once, kernels (and programs) forked from it.

Starting a kernel costs mostly importing ipykernel and IPython. The template pays that once;
each kernel is then a fork that isolates itself (namespaces, directories, uid 65534, no
capabilities, rlimits) and joins its own cgroup before any of its code runs. It needs
bubblewrap; the template itself runs only this package's code, inside bubblewrap (read-only
system, no network), as root, or, started by another user, as root of a user namespace of
its own (that user on the host), and ends its kernels when it ends. One-shot programs are
forked the same way, from a template that imported no ipykernel (`kernels=False`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from harmony_agent.sandbox._cgroup import PREFIX, Cgroup
from harmony_agent.sandbox._channels import connection_info
from harmony_agent.sandbox._config import SandboxConfig
from harmony_agent.sandbox._errors import KernelStartError
from harmony_agent.sandbox._inside import inside_source
from harmony_agent.sandbox._isolation import IsolationReport
from harmony_agent.sandbox._launch import (
    RUN_DIR,
    Layers,
    build_launch,
    kernel_limits,
    python_install,
)
from harmony_agent.sandbox._process import ForkedProcess

__all__ = ["KernelTemplate", "PendingFork", "memory_directory"]

KERNELS = "/sandbox"
"""Where the template sees the kernels' directories (each kernel hides it from itself)."""

SHARED_MEMORY = Path("/dev/shm")


def memory_directory() -> Path | None:
    """/dev/shm where it is a tmpfs this process may write (its files are memory: creating
    and removing them costs microseconds, not a journal's tenths of milliseconds), else None.
    """
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
            tmpfs = any(
                fields[4] == str(SHARED_MEMORY) and fields[fields.index("-") + 1] == "tmpfs"
                for fields in (line.split() for line in mountinfo)
            )
    except OSError:
        return None
    if tmpfs and os.access(SHARED_MEMORY, os.W_OK | os.X_OK):
        return SHARED_MEMORY
    return None


class KernelTemplate:
    """A running template process; `fork` makes kernels, `fork_program` one-shot programs.

    Create with `await KernelTemplate.start(config)`.
    """

    def __init__(self, config: SandboxConfig, root: Path, *, kernels: bool = True) -> None:
        self.config = config
        self.root = root
        self.forks_kernels = kernels
        self.kernels = root / "kernels"
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    @staticmethod
    def supported(report: IsolationReport) -> bool:
        """Whether forking kernels works under `report`'s layers: bubblewrap, and code that
        runs unprivileged (any user but a root that cannot drop to uid 65534).
        """
        return report.bubblewrap and report.unprivileged

    @classmethod
    async def start(
        cls, config: SandboxConfig, *, kernels: bool = True, directory: Path | None = None
    ) -> KernelTemplate:
        """Starts the template process and waits until it has imported ipykernel; with
        `kernels=False`, a template for one-shot programs only, which imports no ipykernel.
        Its directory and the kernels' are made in `directory` (default: the temporary
        directory).
        """
        root = Path(
            await asyncio.to_thread(
                tempfile.mkdtemp, prefix=f"{PREFIX}{os.getpid()}-template-", dir=directory
            )
        )
        template = cls(config, root, kernels=kernels)
        try:
            await template._launch()
        except BaseException:
            await template.aclose()
            raise
        return template

    async def _launch(self) -> None:
        for name in ("kernels", "work", "run"):
            (self.root / name).mkdir()
        install = python_install(self.config.python)
        source = inside_source("template")
        kind = json.dumps(connection_info(RUN_DIR, "")) if self.forks_kernels else "programs"
        launch = build_launch(
            [install.executable, "-c", source, kind],
            layers=Layers(bubblewrap=True, setpriv=False, cgroup=False),
            config=self.config,
            install=install,
            work=self.root / "work",
            run=self.root / "run",
            binds=[(self.kernels, KERNELS)],
        )
        log = await asyncio.to_thread(open, self.root / "template.log", "wb")
        try:
            self._process = await asyncio.create_subprocess_exec(
                *launch.argv,
                env=launch.env,
                cwd=launch.cwd,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        await self._request({"op": "ping", "id": "ready"})  # answers once imports are done

    def new_root(self) -> Path:
        """A directory for a new kernel, where the template can see it."""
        root = self.kernels / f"{PREFIX}{uuid.uuid4().hex[:12]}"
        root.mkdir()
        return root

    async def fork(self, root: Path, cgroup: Cgroup | None, key: str) -> ForkedProcess:
        """Forks a kernel for the directory `root` (from `new_root`), in `cgroup`, listening
        where `connection_info` says in its `run` directory (`RUN_DIR` inside), with `key`.
        """
        if not self.forks_kernels:
            raise KernelStartError("this template runs one-shot programs only")
        pending = await self._fork(root, cgroup, {"op": "fork", "key": key})
        return await pending.go(kernel_limits(self.config, cgroup=cgroup is not None))

    async def fork_program(self, root: Path, cgroup: Cgroup | None) -> PendingFork:
        """Forks a one-shot program for the directory `root` (from `new_root`, with the fifos
        `host/stdout` and `host/stderr` made), in `cgroup`. It waits, isolated, before any of
        its code exists, for `PendingFork.go` with the code (by then `host/stdin` and the
        program's files must be written). The pending process is its pid namespace's pid 1.
        """
        return await self._fork(root, cgroup, {"op": "run"})

    async def _fork(
        self, root: Path, cgroup: Cgroup | None, request: dict[str, object]
    ) -> PendingFork:
        async with self._lock:
            answer = await self._request(
                {
                    **request,
                    "id": uuid.uuid4().hex,
                    "dir": f"{KERNELS}/{root.name}",
                    "tmp_bytes": self.config.max_file_mb << 20,
                }
            )
            pending = PendingFork(
                str(answer["id"]),
                ForkedProcess(int(str(answer["init"])), f"{root}/host/exit"),
                self._send,
            )
        if cgroup is None:
            return pending
        # the kernel's or program's process (its pid 1 stays out), in a thread: moving a
        # process may wait for an RCU grace period (milliseconds under cgroup v1), which
        # would hold up every other sandbox of this event loop
        joining = asyncio.ensure_future(asyncio.to_thread(cgroup.join, int(str(answer["pid"]))))
        try:
            await asyncio.shield(joining)
        except BaseException:
            with contextlib.suppress(Exception):  # its pid names it until it is dropped
                await joining
            await pending.drop()
            raise
        return pending

    async def _send(self, message: dict[str, object]) -> None:
        if self._process is None or self._process.stdin is None:
            raise KernelStartError("the kernel template process is not running")
        self._process.stdin.write(json.dumps(message).encode() + b"\n")
        await self._process.stdin.drain()

    async def _request(self, message: dict[str, object]) -> dict[str, object]:
        """Sends `message` and returns the answer with its id. Answers to requests whose
        caller was cancelled arrive late: they are skipped (and their children dropped).
        """
        await self._send(message)
        while True:
            if self._process is None or self._process.stdout is None:
                raise KernelStartError("the kernel template process is not running")
            try:
                async with asyncio.timeout(self.config.start_timeout_s):
                    line = await self._process.stdout.readline()
            except TimeoutError:
                line = b""
            if not line:
                raise KernelStartError("the kernel template process stopped answering")
            answer: dict[str, object] = json.loads(line)
            if answer["id"] == message["id"]:
                return answer
            if "pid" in answer:
                await self._send({"op": "drop", "id": answer["id"]})

    async def aclose(self) -> None:
        """Ends the template process (and with it every kernel it forked)."""
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        await asyncio.to_thread(shutil.rmtree, self.root, True)


class PendingFork:
    """A forked kernel's or program's process, in its cgroup, waiting for `go` (or `drop`)
    before anything of its kernel or program's code exists.
    """

    def __init__(
        self,
        request_id: str,
        process: ForkedProcess,
        send: Callable[[dict[str, object]], Awaitable[None]],
    ) -> None:
        self.process = process
        self._id = request_id
        self._send = send

    async def go(self, limits: dict[str, int], code: str | None = None) -> ForkedProcess:
        """Lets it start its kernel (or run `code`, a program's) under `limits`."""
        message: dict[str, object] = {"op": "go", "id": self._id, "limits": limits}
        if code is not None:
            message["code"] = code
        await self._send(message)
        return self.process

    async def drop(self) -> None:
        """Ends it (nothing of its kernel or program ran)."""
        with contextlib.suppress(KernelStartError):  # the template is gone: so is the child
            await self._send({"op": "drop", "id": self._id})
        self.process.kill()
