"""The kernel template process: a kernel prepared up to its sockets, forked per request.

Run inside bubblewrap (read-only system, no network) as root, the host's or, started by
another user, a user namespace's (see `USER_NAMESPACE`), as `python -c <this source>`, with
JSON lines on stdin from the host and answers on stdout:

    {"op": "fork", "id": ID, "dir": DIR, "key": KEY, "tmp_bytes": N}
        -> {"id": ID, "init": I, "pid": P}     (a kernel P, pid 1 of its namespace I)
    {"op": "run", "id": ID, "dir": DIR, "tmp_bytes": N}
        -> {"id": ID, "init": I, "pid": P}     (a one-shot program P instead of a kernel)
    {"op": "go", "id": ID, "limits": {...}}     (after the host put P in its cgroup; a
        program's "go" also carries its "code", written by then with its stdin and files)
    {"op": "drop", "id": ID}    (the host gave up on it: P exits)
    {"op": "ping", "id": ID}  -> {"id": ID}

Children are reaped only after their "go" or "drop": I and P name them (or their zombies)
until the host has opened them.

The template parses ipykernel's arguments and configuration and creates the IPython shell
once; a fork makes only what cannot cross a fork (ZMQ sockets, threads, event loops). Each
kernel or one-shot program P is the template's child in a pid namespace of its own, whose
pid 1, I, is no Python (see `_spawn_init`): it holds the namespace while the template lives
(killed, it takes every process of the namespace with it), and a kernel's reaps the orphans
of the kernel's processes. P enters its own mount, network, ipc and uts namespaces, with its
directory DIR's `work` (and a kernel's `run`) at the usual paths, a private /tmp and the rest
of the kernels hidden (DIR's `host`, where its log goes, among them); it waits for "go" and
then runs as uid 65534 with no capabilities, no new privileges and the given rlimits, dying
with the template. A kernel serves on the sockets of its `run` directory; a program runs
CODE as `__main__` by `exec`, with DIR's `host/stdin` on its standard input and the fifos
`host/stdout` and `host/stderr` (whose reading ends the host holds) as its output. The
template reaps P, writes its CPU time to `host/usage` and its exit code to `host/exit`, and
kills I.
It imports nothing from harmony_agent: the sandbox cannot see the project's source.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]
import atexit
import contextlib
import ctypes
import fcntl
import gc
import importlib
import io
import json
import linecache
import os
import re
import resource
import select
import signal
import socket
import struct
import sys
import threading
import traceback
import types
import uuid
from collections.abc import Iterator
from typing import Any

ENVIRONMENT = dict(os.environ)
"""The environment the host gave (ipykernel adds to it): what a one-shot program sees."""

PROGRAMS_ONLY = sys.argv[1:] == ["programs"]
"""Started as `python -c <source> programs`: a template for one-shot programs only, which
imports no ipykernel (a small process forks and exits several times faster). A template for
kernels is started as `python -c <source> CONNECTION`: where every kernel listens (in its own
`RUN_DIR`), as JSON without the key, which each kernel's request brings.
"""

PRELOADED = ("ast", "typing")
"""Imported once by a template for programs: most programs import `typing`, and printing a
traceback imports `ast` (a few milliseconds each, per program otherwise).
"""

# No debugger (the host never debugs a kernel) and no jedi completion (nor completes):
# ipykernel and IPython find them missing, and the template, which every fork copies, is a
# third smaller. `main` lets code in the kernels import them again.
UNUSED = ("debugpy", "jedi")
if not PROGRAMS_ONLY:
    sys.modules.update(dict.fromkeys(UNUSED))  # type: ignore[arg-type]
    from ipykernel.ipkernel import IPythonKernel
    from ipykernel.kernelapp import IPKernelApp
    from ipykernel.zmqshell import ZMQInteractiveShell
    from IPython.core import inputtransformer2
    from IPython.core.application import BaseIPythonApplication
    from IPython.core.compilerop import CachingCompiler

__all__ = ["main"]

WORKDIR = "/mnt/data"
RUN_DIR = "/run/kernel"
KERNELS = "/sandbox"
NOBODY = 65534
CAT = next(path for path in ("/usr/bin/cat", "/bin/cat") if os.access(path, os.X_OK))
"""What each program's pid namespace runs as its pid 1 (see `_spawn_init`)."""
REAPER = [
    "/bin/sh",
    "-c",
    "trap '' INT; exec 3<&0 </dev/null; read -r _ <&3 3<&- & exec 3<&-; wait",
]
"""What each kernel's pid namespace runs as its pid 1: a shell whose `wait` for a subshell
reading its standard input (to its end: the template's) reaps every child it is given (the
orphans of the kernel's processes). It ignores SIGINT: a shell run with -c would end on it,
and a pid 1 gets from the code the signals it handles. (A subshell's `read` is a fork of
the shell; a `cat` would cost an exec and a C library's start-up, milliseconds.)
"""
PROGRAM = "<program>"
"""The file name a one-shot program's tracebacks show."""
ARGV = ["--HistoryManager.enabled=False"]

_NEWPID, _NEWUSER = 0x20000000, 0x10000000
_CLONE = 0x00020000 | 0x04000000 | 0x08000000 | 0x40000000  # ns uts ipc net
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
_MS_BIND, _MS_MOVE, _MS_REC, _MS_PRIVATE = 4096, 8192, 16384, 1 << 18
_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP = 1, 24
_PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS = 36, 38
_CAPABILITY_VERSION_3 = 0x20080522
_SIOCSIFFLAGS, _IFF_UP, _IFF_LOOPBACK, _IFF_RUNNING = 0x8914, 0x1, 0x8, 0x40
_LIMITS = {
    "as": resource.RLIMIT_AS,
    "cpu": resource.RLIMIT_CPU,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "nproc": resource.RLIMIT_NPROC,
    "core": resource.RLIMIT_CORE,
}
_libc = ctypes.CDLL(None, use_errno=True)
for _function in ("capset", "mount", "prctl", "setns", "unshare"):
    getattr(_libc, _function)  # found once here (dlsym), not again in each fork


def _maps_nobody() -> bool:
    """Whether uid 65534 exists in this process's user namespace (the host's, when root
    started the template; only the starting user, as 0, when another user did).
    """
    with open("/proc/self/uid_map", encoding="ascii") as uid_map:
        for line in uid_map:
            first, _outside, count = map(int, line.split())
            if first <= NOBODY < first + count:
                return True
    return False


USER_NAMESPACE = not _maps_nobody()
"""Whether the template runs in a user namespace of a non-root host user, where that user is
its only uid (0). Then each kernel or program enters a user namespace of its own to be 65534
(`_own_users`), and is forked with its pid 1 through a middle child (`_fork_through_middle`).
Else root started it: code becomes the host's uid 65534.
"""


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str) -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _die_with_parent() -> None:
    _check(_libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")


if not PROGRAMS_ONLY:

    class _ConfiguredApplication(BaseIPythonApplication):
        """IPython's application set-up (arguments, configuration files, profile), done once in
        the template by `configure`; a forked kernel's `initialize` skips it. It comes after
        `IPKernelApp` in `KernelApp`'s bases, so `IPKernelApp.initialize`'s `super()` call lands
        here.
        """

        def configure(self, argv: list[str]) -> None:
            """Parses `argv` and loads the configuration."""
            super().initialize(argv)  # type: ignore[no-untyped-call]

        def initialize(self, argv: Any = None) -> None:
            """Nothing to do: `configure` ran before the fork."""

    _ESCAPES = re.escape("".join(sorted(inputtransformer2.ESCAPE_SINGLES)))
    _ESCAPE_AT_LINE_START = re.compile(rf"^[ \t\f]*[{_ESCAPES}]", re.MULTILINE)
    """IPython's escapes (`%magic`, `!command`, `?name`, `,f a`, `;f a`, `/f a`) where a line's
    code begins (Python's tokenizer begins each logical line where a line begins)."""
    _ESCAPE_AFTER_ASSIGNMENT = re.compile(r"=[\s\\]*[%!]")
    """`a = %magic` and `a = !command`, spaces and continued lines between."""

    _IPYTHON_TOKEN_TRANSFORMS = [
        inputtransformer2.MagicAssign,
        inputtransformer2.SystemAssign,
        inputtransformer2.EscapedCommand,
        inputtransformer2.HelpEnd,
    ]
    """IPython's own token transformations (`Transformer` knows what each looks for)."""

    class Transformer(inputtransformer2.TransformerManager):
        """IPython's input transformations, without tokenizing the cell where none of
        IPython's special syntax can be in it (most code; Python's tokenizer, written in
        Python, is a large part of running a short cell).
        """

        def do_token_transforms(self, lines: list[str]) -> list[str]:
            """IPython's token transformations of `lines`: none without a character any of
            its own four transformations looks for where it looks.
            """
            if self.token_transformers == _IPYTHON_TOKEN_TRANSFORMS and not (
                _may_have_ipython_syntax(lines)
            ):
                return lines
            transformed: list[str] = super().do_token_transforms(lines)  # type: ignore[no-untyped-call]
            return transformed

    def _may_have_ipython_syntax(lines: list[str]) -> bool:
        """Whether IPython's token transformations may find something in `lines` (a
        superset): a help `?` anywhere, an escape where a line's code begins, or `%` or `!`
        after `=`.
        """
        text = "".join(lines)
        return (
            "?" in text
            or any(_ESCAPE_AT_LINE_START.search(line) for line in lines)
            or _ESCAPE_AFTER_ASSIGNMENT.search(text) is not None
        )

    class Shell(ZMQInteractiveShell):
        """ipykernel's shell, transforming each cell once (ipykernel transforms it, to see
        whether it awaits at its top level, and hands the result to IPython only when it
        does; else IPython transforms the same cell again to run it) with `Transformer`, and
        compiling it to see whether it awaits only when it has `await` or `async` in it.
        """

        _transformed: tuple[str, int, str] | None = None

        def transform_cell(self, raw_cell: str) -> str:
            """IPython's transformation of `raw_cell`, kept for the next call on the same
            cell in the same execution.
            """
            kept, self._transformed = self._transformed, None
            if kept is not None and kept[0] is raw_cell and kept[1] == self.execution_count:
                return kept[2]
            cell: str = super().transform_cell(raw_cell)  # type: ignore[no-untyped-call]
            self._transformed = (raw_cell, self.execution_count, cell)
            return cell

        def should_run_async(
            self,
            raw_cell: str,
            *,
            transformed_cell: str | None = None,
            preprocessing_exc_tuple: Any = None,
        ) -> bool:
            """IPython's answer (which compiles the cell), or False at once for a cell
            without `await` or `async`: only `await`, `async for` and `async with` make a
            cell's code a coroutine.
            """
            if isinstance(transformed_cell, str) and not (
                "await" in transformed_cell or "async" in transformed_cell
            ):
                return False
            answer: bool = super().should_run_async(
                raw_cell,
                transformed_cell=transformed_cell,
                preprocessing_exc_tuple=preprocessing_exc_tuple,
            )
            return answer

    class PreparedKernel(IPythonKernel):
        """ipykernel's kernel object, made once in the template (`KernelApp.prepare`): each
        fork's `init_kernel` hands it that fork's session, streams, sockets and threads where
        ipykernel would make a new kernel.
        """

        @classmethod
        def instance(cls, *args: Any, **kwargs: Any) -> PreparedKernel:
            """Makes the kernel (in the template), or gives the prepared one what `kwargs`
            hold that it does not (in a fork).
            """
            if not cls.initialized():
                kernel: PreparedKernel = super().instance(*args, **kwargs)
                return kernel
            prepared = cls._instance
            assert isinstance(prepared, PreparedKernel)
            for name, value in kwargs.items():
                if getattr(prepared, name) is not value:
                    setattr(prepared, name, value)
            prepared.ident = str(uuid.uuid4())  # (kernels' ids are unique in Jupyter)
            # what `IPythonKernel.__init__` gave the shell from the (then unset) channels
            shell = prepared.shell
            assert shell is not None
            shell.displayhook.pub_socket = prepared.iopub_socket
            shell.displayhook.topic = prepared._topic("execute_result")
            shell.display_pub.pub_socket = prepared.iopub_socket
            prepared._stdout, prepared._stderr = sys.stdout, sys.stderr  # made by `init_io`
            return prepared

    class KernelApp(IPKernelApp, _ConfiguredApplication):
        """ipykernel's application as a forked kernel runs it: `prepare` (in the template) does
        all that can cross a fork, `initialize` (in the kernel) the rest: sockets, threads,
        what the kernel object holds of them. It has no heartbeat (the host sees a kernel's
        death as its process exiting) and no connection file (the host knows where its
        kernels listen).
        """

        def prepare(self, argv: list[str], connection: dict[str, Any]) -> None:
            """Configures the application, loads `connection` (in the session: its key is
            each kernel's own) and creates the shell and the kernel object (which each fork
            takes), with the shell's extensions and start-up code.
            """
            self.configure(argv)
            self.load_connection_info(connection)  # type: ignore[arg-type]
            super().init_pdb()  # type: ignore[no-untyped-call]
            # IPython's compiler: ipykernel's hashes each cell in Python, for its debugger
            self.shell = Shell.instance(
                parent=self,
                profile_dir=self.profile_dir,
                user_ns=self.user_ns,
                compiler_class=CachingCompiler,
            )
            self.shell.input_transformer_manager = Transformer()  # type: ignore[no-untyped-call]
            self.kernel_class = PreparedKernel
            kernel = PreparedKernel.instance(
                parent=self,
                session=self.session,
                log=self.log,
                profile_dir=self.profile_dir,
                user_ns=self.user_ns,
            )
            self.shell.kernel = kernel
            super().init_gui_pylab()  # type: ignore[no-untyped-call]
            super().init_extensions()  # type: ignore[no-untyped-call]
            super().init_code()  # type: ignore[no-untyped-call]
            formatter = self.shell.display_formatter
            assert formatter is not None
            formatter.format(0)  # type: ignore[no-untyped-call]  # fills the formatters' caches

        def init_pdb(self) -> None:
            """Done by `prepare`."""

        def init_connection_file(self) -> None:
            """Done by `prepare` (`_kernel` gives the session its key)."""

        def write_connection_file(self, **kwargs: Any) -> None:
            """No connection file."""

        def log_connection_info(self) -> None:
            """No connection file to tell of."""

        def init_gui_pylab(self) -> None:
            """Done by `prepare`."""

        def init_extensions(self) -> None:
            """Done by `prepare`."""

        def init_code(self) -> None:
            """Done by `prepare`."""

        def init_heartbeat(self) -> None:
            """No heartbeat channel (nobody listens to it)."""


def _silenced(function: Any) -> Any:
    """Runs `function` with fd 1 (the line to the host) on /dev/null; restores it, Python's
    standard streams and its hooks after.
    """
    saved = sys.stdout, sys.stderr, sys.stdin, sys.displayhook, sys.excepthook
    stdout = os.dup(1)
    null = os.open("/dev/null", os.O_WRONLY)
    os.dup2(null, 1)
    try:
        return function()
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr, sys.stdin, sys.displayhook, sys.excepthook = saved
        os.dup2(stdout, 1)
        os.close(stdout)
        os.close(null)


WARM_UP_CELL = """
def double(text: str = 'a') -> str:
    \"\"\"Its words, twice.\"\"\"
    return rf"{text!r}" + b"\\x00".decode() + f'{text * 2}'  # a comment
double()
"""
"""A cell with the kinds of tokens most code has (each kind of string compiles a pattern)."""


def _warm_up() -> None:
    """Starts a throwaway kernel, runs a cell in it and closes it again, so that forks start
    with what a kernel's start loads and fills: modules, compiled regular expressions,
    traitlets' class tables, IPython's first compilation.
    """
    with open("/tmp/warm-up.json", "w", encoding="utf-8") as connection:
        json.dump({"transport": "ipc", "ip": "/tmp/warm-up", "key": ""}, connection)
    app = IPKernelApp.instance()
    app.initialize(  # type: ignore[no-untyped-call]
        [
            "-f",
            "/tmp/warm-up.json",
            "--HistoryManager.enabled=False",
            "--IPKernelApp.capture_fd_output=False",  # no fd-watching threads to stop
        ]
    )
    shell = app.shell
    assert shell is not None
    shell.run_cell(WARM_UP_CELL, store_history=True)
    app.close()  # type: ignore[no-untyped-call]
    for singleton in (type(app.kernel), type(shell), IPKernelApp):  # the fork makes its own
        singleton.clear_instance()


def _prepare(connection: dict[str, Any]) -> KernelApp:
    """The application every kernel forks from, prepared, with a fresh shell and kernel."""
    _silenced(_warm_up)
    app = KernelApp.instance()
    _silenced(lambda: app.prepare(ARGV, connection))
    if threading.active_count() != 1:  # a fork keeps only the forking thread
        raise RuntimeError(f"the kernel's preparation left threads: {threading.enumerate()}")
    return app


def main() -> None:
    """Serves fork requests until stdin closes."""
    app = None if PROGRAMS_ONLY else _prepare(json.loads(sys.argv[1]))
    if PROGRAMS_ONLY:
        for name in PRELOADED:
            importlib.import_module(name)
    for name in UNUSED:
        sys.modules.pop(name, None)
    gc.freeze()  # the collector leaves the template's objects alone: fewer copied pages
    children = _Children()
    ended, ends = os.pipe()  # a byte per signal: the main loop reaps (see `_requests`)
    os.set_blocking(ended, False)
    os.set_blocking(ends, False)
    signal.set_wakeup_fd(ends)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    if USER_NAMESPACE:  # children forked through a middle child become the template's
        _check(_libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl")
    own_pids = os.open("/proc/self/ns/pid", os.O_RDONLY)
    lifeline, _held = os.pipe()  # never written: its readers see its end with the template's
    below_tmp = _mount_points_below("/tmp")  # each fork starts with the template's mounts
    gates: dict[str, tuple[int, int, int, str]] = {}
    for line in _requests(children, ended):
        request = json.loads(line)
        if request["op"] == "ping":
            sys.stdout.write(json.dumps({"id": request["id"]}) + "\n")
            sys.stdout.flush()
        elif request["op"] == "run" or (request["op"] == "fork" and app is not None):
            read, write = os.pipe()
            init, pid = _fork_in_new_pids(own_pids, lifeline, reaper=request["op"] == "fork")
            if pid == 0:  # no write end of any gate (its own reads to the end of "go"),
                signal.set_wakeup_fd(-1)  # nor the template's pid namespace, lifeline
                closing = [write, own_pids, lifeline, _held, ended, ends]  # or signal pipe
                for other in closing + [other for other, _, _, _ in gates.values()]:
                    os.close(other)
                _child(request, read, app, below_tmp)
            os.close(read)
            gates[request["id"]] = (write, init, pid, request["dir"])
            answer = {"id": request["id"], "init": init, "pid": pid}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
        elif (gate := gates.pop(request["id"], None)) is not None:
            write, init, pid, directory = gate
            if request["op"] == "go":
                with contextlib.suppress(BrokenPipeError):  # the child is gone already
                    _write_all(write, b"g" + line)
            os.close(write)
            children.release(init)
            children.release(pid, (init, f"{directory}/host") if request["op"] == "go" else None)


def _write_all(fd: int, data: bytes) -> None:
    """Writes all of `data` to the pipe `fd` (a write may stop early when a signal comes)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _requests(children: _Children, ended: int) -> Iterator[bytes]:
    """The host's request lines on stdin until it closes, reaping `children` whenever a
    signal came (a byte on `ended`, the wakeup fd: a Python handler run between two
    bytecodes may come too late to cut short the read the main loop then blocks in, and a
    program's pid 1 waits until the template has reaped it).
    """
    pending = b""
    while True:
        ready, _, _ = select.select([0, ended], [], [])
        if ended in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(ended, 4096):
                    pass
            children.reap()
        if 0 in ready:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                return
            *lines, pending = (pending + chunk).split(b"\n")
            yield from lines


class _Children:
    """The template's children (kernels, programs and their pid 1s), each reaped only once
    the host has released it: until then its pid stays taken, even by a child that died at
    once, so the pid the host was given cannot name another process when it opens it. A
    kernel or program that ran has its exit code and usage written to its `host` directory,
    then its pid 1 is killed (the host waits for the pid 1).
    """

    def __init__(self) -> None:
        self._released: set[int] = set()
        self._reports: dict[int, tuple[int, str]] = {}

    def release(self, pid: int, report: tuple[int, str] | None = None) -> None:
        """The host holds `pid` (or dropped it): reap it once it ends; the `report` of a
        kernel or program that ran is its pid 1 and its `host` directory.
        """
        if report is not None:
            self._reports[pid] = report
        self._released.add(pid)
        self.reap()

    def reap(self) -> None:
        """Reaps every released child that ended."""
        for pid in list(self._released):
            ended, status, usage = os.wait4(pid, os.WNOHANG)
            if not ended:
                continue
            self._released.discard(pid)
            if (report := self._reports.pop(pid, None)) is not None:
                init, host = report
                _report_exit(host, status, usage)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(init, signal.SIGKILL)  # and every process of its namespace


def _report_exit(host: str, status: int, usage: resource.struct_rusage) -> None:
    """Writes a kernel's or program's CPU time (its children's that it waited for included)
    and largest size to `host/usage`, then its exit code to `host/exit` (never following a
    link).
    """
    try:
        directory = os.open(host, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:  # the host removed it: nobody waits for the report
        return
    try:
        cpu = {"cpu_s": usage.ru_utime + usage.ru_stime, "max_rss_kb": usage.ru_maxrss}
        for name, text in (
            ("usage", json.dumps(cpu)),
            ("exit", str(os.waitstatus_to_exitcode(status))),
        ):
            with contextlib.suppress(OSError):
                fd = _create(name, dir_fd=directory)
                try:
                    os.write(fd, text.encode())
                finally:
                    os.close(fd)
    finally:
        os.close(directory)


def _fork_in_new_pids(own_pids: int, lifeline: int, *, reaper: bool) -> tuple[int, int]:
    """Forks a child into a new pid namespace (the template stays in its own), under the pid
    1 `_spawn_init` starts there. Returns (pid 1, child) as the template sees them, the child
    0 in the child.
    """
    if USER_NAMESPACE:
        return _fork_through_middle(lifeline, reaper=reaper)
    _check(_libc.unshare(_NEWPID), "unshare")
    init = 0
    try:
        init = _spawn_init(lifeline, reaper=reaper)
        child = os.fork()
    except BaseException:
        _check(_libc.setns(own_pids, _NEWPID), "setns")
        if init:
            os.kill(init, signal.SIGKILL)
            os.waitpid(init, 0)
        raise
    if child != 0:
        _check(_libc.setns(own_pids, _NEWPID), "setns")
    return init, child


def _fork_through_middle(lifeline: int, *, reaper: bool) -> tuple[int, int]:
    """`_fork_in_new_pids` for a template in a user namespace, which may make pid namespaces
    but not enter the host's again: a middle child makes one, starts the processes in it,
    says their pids and exits; they become the template's children (a subreaper).
    """
    said, say = os.pipe()
    middle = os.fork()
    if middle == 0:
        os.close(said)
        try:
            _check(_libc.unshare(_NEWPID), "unshare")
            init = _spawn_init(lifeline, reaper=reaper)
            child = os.fork()
            if child == 0:
                os.close(say)
                return init, 0
            _write_all(say, f"{init} {child}".encode())
        except BaseException:
            traceback.print_exc()
        os._exit(0)
    os.close(say)
    pids = _read_all(said).split()
    os.close(said)
    os.waitpid(middle, 0)
    if len(pids) != 2:
        raise OSError("the middle child made no child (see the template's log)")
    return int(pids[0]), int(pids[1])


def _spawn_init(lifeline: int, *, reaper: bool) -> int:
    """Starts pid 1 of the namespace being made: `cat` of `lifeline`, or, for a kernel (a
    `reaper`), `REAPER`, which also reaps the orphans it is given. Small processes without
    Python, they hold the namespace (killing pid 1 kills every process in it) and end with
    the template; orphans a program's `cat` does not reap wait as zombies for that end.
    """
    return os.posix_spawn(
        REAPER[0] if reaper else CAT,
        REAPER if reaper else ["cat"],
        {},
        file_actions=[
            (os.POSIX_SPAWN_DUP2, lifeline, 0),
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
    )


def _child(request: dict[str, Any], gate: int, app: KernelApp | None, below_tmp: list[str]) -> None:
    """A kernel or one-shot program, pid 2 of its pid namespace (the template reaps it and
    reports its end): isolates itself, waits for "go" (meanwhile the host puts it in its
    cgroup, and writes a program's stdin and files) and runs, unprivileged. Its log gets a
    kernel's output and what failed before a program's code ran.
    """
    try:
        # `signal.signal` would look the template's handler up among the enum's values and
        # format the error of that failed lookup
        _signal.signal(signal.SIGCHLD, _signal.SIG_DFL)
        host = _output_to_log(request)
        _isolate(request, below_tmp)
        sent = _wait_for_go(gate)
        request["limits"] = sent["limits"]
        if request["op"] == "fork":
            os.close(host)
            assert app is not None  # a kernel is forked only from a template that has one
            _kernel(request, app)
        request["code"] = sent["code"]
        streams = (
            os.open("stdin", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=host),
            os.open("stdout", os.O_WRONLY | os.O_NOFOLLOW, dir_fd=host),
            os.open("stderr", os.O_WRONLY | os.O_NOFOLLOW, dir_fd=host),
        )
        os.close(host)
    except BaseException:
        traceback.print_exc()
        os._exit(70)
    _program(request, streams)


def _wait_for_go(gate: int) -> dict[str, Any]:
    """What "go" sent on `gate`; exits if the template dropped this fork or died instead.
    From then on this process dies with the template (not before: a middle child may have
    been its parent).
    """
    go = _read_all(gate)  # ends early when the template dies
    os.close(gate)
    if go[:1] != b"g":
        os._exit(0)
    _die_with_parent()
    sent: dict[str, Any] = json.loads(go[1:])
    return sent


def _output_to_log(request: dict[str, Any]) -> int:
    """Points standard input at /dev/null and output at the new `host/kernel.log` of the
    request's directory; returns that `host` directory (opened as a path only).
    """
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.close(null)
    host = os.open(f"{request['dir']}/host", os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
    log = _create("kernel.log", dir_fd=host)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return host


def _isolate(request: dict[str, Any], below_tmp: list[str]) -> None:
    """Enters its own mount, network, ipc and uts namespaces: its directory's `work` (and a
    kernel's `run`) at the usual paths, the other kernels hidden, a private /tmp, its pid
    namespace's /proc, loopback up.
    """
    _check(_libc.unshare(_CLONE), "unshare")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE, "")
    _mount(f"{request['dir']}/work", WORKDIR, None, _MS_BIND, "")
    if request["op"] != "run":  # a program has no sockets: its working directory is all
        _mount(f"{request['dir']}/run", RUN_DIR, None, _MS_BIND, "")  # it writes
    _mount("tmpfs", KERNELS, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=4096,mode=555")
    _private_tmp(request["tmp_bytes"], below_tmp, parking=KERNELS)
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "")
    socket.sethostname("sandbox")
    _loopback_up()


def _read_all(fd: int) -> bytes:
    """What the pipe `fd` holds until its writer closes it."""
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _create(path: str, dir_fd: int | None = None) -> int:
    """Opens a new file for writing at `path` (never following a link)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    return os.open(path, flags, 0o600, dir_fd=dir_fd)


def _private_tmp(size: int, below: list[str], *, parking: str) -> None:
    """Mounts an empty /tmp of `size` bytes, moving the mounts `below` the old one (the Python
    install, read-only mounts) into it: a virtual environment may live under /tmp. They wait
    in `parking`, a directory of this mount namespace's own (a shared one had concurrent
    inits take each other's places).
    """
    parked = [f"{parking}/parked-{number}" for number in range(len(below))]
    for target, place in zip(below, parked, strict=True):
        os.mkdir(place)
        _mount(target, place, None, _MS_MOVE, "")
    _mount("tmpfs", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={size},mode=1777")
    for target, place in zip(below, parked, strict=True):
        os.makedirs(target, exist_ok=True)
        _mount(place, target, None, _MS_MOVE, "")
        os.rmdir(place)


def _mount_points_below(root: str) -> list[str]:
    """The outermost mount points below `root` (each moves with the mounts below it)."""
    with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
        points = sorted(
            re.sub(r"\\([0-7]{3})", lambda code: chr(int(code[1], 8)), line.split()[4])
            for line in mountinfo  # a space in a mount point is written \040
        )
    outermost: list[str] = []
    for point in points:
        if point.startswith(f"{root}/") and not any(
            point.startswith(f"{outer}/") for outer in outermost
        ):
            outermost.append(point)
    return outermost


def _loopback_up() -> None:
    """Brings up `lo` in the new network namespace (code may serve itself on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14s", b"lo", _IFF_UP | _IFF_LOOPBACK | _IFF_RUNNING, b"")
        fcntl.ioctl(sock, _SIOCSIFFLAGS, request)


def _unprivileged(limits: dict[str, int]) -> None:
    """In the working directory, as uid 65534 without capabilities or new privileges, under
    `limits` (never above the template's own hard limits).
    """
    os.chdir(WORKDIR)
    if USER_NAMESPACE:  # a user namespace of its own, before the limits: see `_own_users`
        _own_users()
    for name, value in limits.items():
        _soft, hard = resource.getrlimit(_LIMITS[name])
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(_LIMITS[name], (value, value))
    for capability in range(64):
        if _libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            break
    if not USER_NAMESPACE:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    _no_capabilities()
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
    _die_with_parent()  # again: a change of uid or capabilities clears it


def _own_users() -> None:
    """Enters a new user namespace whose only user and group, 65534, are the template's
    (the host user who started it). The limits come after: a process count then counts
    this kernel's (or program's) processes alone, not every sandbox of that user.
    """
    _check(_libc.unshare(_NEWUSER), "unshare")
    for name, text in (
        ("setgroups", "deny"),
        ("uid_map", f"{NOBODY} 0 1"),
        ("gid_map", f"{NOBODY} 0 1"),
    ):
        with open(f"/proc/self/{name}", "w", encoding="ascii") as file:
            file.write(text)


class _CapabilityHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapabilitySet(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _no_capabilities() -> None:
    """Empties the effective, permitted and inheritable capability sets (a user namespace's
    creator holds every capability in it, whatever its uid).
    """
    header = _CapabilityHeader(_CAPABILITY_VERSION_3, 0)
    empty = (_CapabilitySet * 2)()
    _check(_libc.capset(ctypes.byref(header), empty), "capset")


def _kernel(request: dict[str, Any], app: KernelApp) -> None:
    """Drops every privilege, applies the limits and runs the kernel in this process."""
    try:
        _unprivileged(request["limits"])
        app.session.key = request["key"].encode()
        app.session.session = str(uuid.uuid4())  # (sessions' ids are unique in Jupyter)
        app.session.pid = os.getpid()  # it sends (a session warns when its pid changed)
        assert app.profile_dir is not None
        os.makedirs(app.profile_dir.location, exist_ok=True)  # in this kernel's own /tmp
        app.profile_dir.check_dirs()  # type: ignore[no-untyped-call]
        app.initialize()  # type: ignore[no-untyped-call]
        app.start()  # type: ignore[no-untyped-call]
    except BaseException:
        traceback.print_exc()
    os._exit(1)


def _program(request: dict[str, Any], streams: tuple[int, int, int]) -> None:
    """Runs a one-shot program in this process, unprivileged, on `streams` (stdin, stdout,
    stderr) and nothing else of the template's; exits with its status.
    """
    try:
        for number, stream in enumerate(streams):
            os.dup2(stream, number)
        os.closerange(3, 1 << 20)  # the template's line to the host, other requests' gates
        _unprivileged(request["limits"])
        if not PROGRAMS_ONLY and os.environ != ENVIRONMENT:  # ipykernel's additions
            os.environ.clear()
            os.environ.update(ENVIRONMENT)
        sys.stdin = sys.__stdin__ = _text(0, "rb", "strict")  # type: ignore[misc]
        sys.stdout = sys.__stdout__ = _text(1, "wb", "strict")  # type: ignore[misc]
        sys.stderr = sys.__stderr__ = _text(2, "wb", "backslashreplace")  # type: ignore[misc]
    except BaseException:
        traceback.print_exc()
        os._exit(70)
    os._exit(_run_main(request["code"]))


def _text(fd: int, mode: str, errors: str) -> io.TextIOWrapper:
    """A standard stream on `fd` as Python makes it (stderr is line-buffered)."""
    binary = open(fd, mode, closefd=False)  # noqa: SIM115
    return io.TextIOWrapper(binary, "utf-8", errors, line_buffering=fd == 2)


def _run_main(code: str) -> int:
    """Runs `code` as Python runs a script's `__main__`: its exit status, after its threads
    and exit handlers (not the template's) have run and its output is flushed.
    """
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    sys.argv = [PROGRAM]
    linecache.cache[PROGRAM] = (len(code), None, code.splitlines(True), PROGRAM)
    atexit._clear()
    try:
        exec(compile(code, PROGRAM, "exec", dont_inherit=True), main.__dict__)
        status = 0
    except SystemExit as exit:
        status = _exit_status(exit)
    except BaseException as error:
        traceback.print_exception(type(error), error, error.__traceback__.tb_next)  # type: ignore[union-attr]
        status = 1
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # waits for non-daemon threads
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # a closed or broken stream: its output is lost, as in Python
            status = status or 120
    return status


def _exit_status(exit: SystemExit) -> int:
    """The status `sys.exit(value)` gives: 0 for None, the int, else 1 with the value shown."""
    if exit.code is None:
        return 0
    if isinstance(exit.code, int):
        return exit.code & 0xFF
    print(exit.code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    main()
