"""The kernel template process: a kernel prepared up to its sockets, forked per request.

Run inside bubblewrap (read-only system, no network) as root, the host's or, started by
another user, a user namespace's (see `USER_NAMESPACE`), as `python -c <this source>`, with
JSON lines on stdin from the host and answers on stdout:

    {"op": "fork", "id": ID, "dir": DIR, "connection": {...}, "tmp_bytes": N}
        -> {"id": ID, "pid": P}
    {"op": "run", "id": ID, "dir": DIR, "tmp_bytes": N}
        -> {"id": ID, "pid": P, "program": Q}     (a one-shot program Q instead of a kernel)
    {"op": "go", "id": ID, "limits": {...}}     (after the host put P (or Q) in its cgroup; a
        program's "go" also carries its "code", written by then with its stdin and files)
    {"op": "drop", "id": ID}    (the host gave up on it: the child exits)
    {"op": "ping", "id": ID}  -> {"id": ID}

A child is reaped only after its "go" or "drop": P names it (or its zombie) until the host
has opened it.

The template parses ipykernel's arguments and configuration and creates the IPython shell
once; a fork makes only what cannot cross a fork (ZMQ sockets, threads, event loops). Each
fork is pid 1 of a pid namespace of its own, with its own mount, network, ipc and uts
namespaces, its directory DIR's `work` and `run` at the usual paths, a private /tmp and the
rest of the kernels hidden (DIR's `host`, where the kernel's log and exit code go, among
them); it forks the kernel, which runs as uid 65534 with no capabilities, no new privileges
and the given rlimits (from "go" on, the init dies with the template), and writes its own
connection file. A one-shot program gets the same namespaces and privileges, without a
Python init: pid 1 of its pid namespace is `cat` of a pipe the template holds (it ends with
the template; killed, it takes every process of the namespace with it), and the program is
pid 2, the template's child, which isolates itself and runs CODE as `__main__` by `exec`,
with DIR's `host/stdin` on its standard input and the fifos `host/stdout` and `host/stderr`
(whose reading ends the host holds) as its output. The template reaps it, writes its CPU
time to `host/usage` and its exit code to `host/exit`, and kills its pid 1.
It imports nothing from harmony_agent: the sandbox cannot see the project's source.
"""

from __future__ import annotations

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
from collections.abc import Iterator
from typing import Any

ENVIRONMENT = dict(os.environ)
"""The environment the host gave (ipykernel adds to it): what a one-shot program sees."""

PROGRAMS_ONLY = sys.argv[1:] == ["programs"]
"""Started as `python -c <source> programs`: a template for one-shot programs only, which
imports no ipykernel (a small process forks and exits several times faster).
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
    from ipykernel.compiler import XCachingCompiler
    from ipykernel.kernelapp import IPKernelApp
    from ipykernel.zmqshell import ZMQInteractiveShell
    from IPython.core.application import BaseIPythonApplication

__all__ = ["main"]

WORKDIR = "/mnt/data"
RUN_DIR = "/run/kernel"
KERNELS = "/sandbox"
NOBODY = 65534
CONNECTION_FILE = "/run/kernel/kernel.json"
CAT = next(path for path in ("/usr/bin/cat", "/bin/cat") if os.access(path, os.X_OK))
"""What each program's pid namespace runs as its pid 1 (see `_spawn_init`)."""
PROGRAM = "<program>"
"""The file name a one-shot program's tracebacks show."""
ARGV = ["-f", CONNECTION_FILE, "--HistoryManager.enabled=False"]

_NEWPID, _NEWUSER = 0x20000000, 0x10000000
_CLONE = 0x00020000 | 0x04000000 | 0x08000000 | 0x40000000  # ns uts ipc net
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
_MS_BIND, _MS_MOVE, _MS_REC, _MS_PRIVATE = 4096, 8192, 16384, 1 << 18
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP = 1, 4, 24
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
(`_own_users`), and inits and programs are forked through a middle child
(`_fork_through_middle`).
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

    class KernelApp(IPKernelApp, _ConfiguredApplication):
        """ipykernel's application as a forked kernel runs it: `prepare` (in the template) does
        all that can cross a fork, `initialize` (in the kernel) the rest: sockets, threads, the
        kernel object. It has no heartbeat (the host sees a kernel's death as its process
        exiting) and no subshells.
        """

        def prepare(self, argv: list[str]) -> None:
            """Configures the application and creates the shell (which the kernel made after
            the fork takes), with its extensions and start-up code.
            """
            self.configure(argv)
            self.shell = ZMQInteractiveShell.instance(
                parent=self,
                profile_dir=self.profile_dir,
                user_ns=self.user_ns,
                compiler_class=XCachingCompiler,
            )
            super().init_gui_pylab()  # type: ignore[no-untyped-call]
            super().init_extensions()  # type: ignore[no-untyped-call]
            super().init_code()  # type: ignore[no-untyped-call]
            formatter = self.shell.display_formatter
            assert formatter is not None
            formatter.format(0)  # type: ignore[no-untyped-call]  # fills the formatters' caches

        def init_gui_pylab(self) -> None:
            """Done by `prepare`."""

        def init_extensions(self) -> None:
            """Done by `prepare`."""

        def init_code(self) -> None:
            """Done by `prepare`."""

        def init_heartbeat(self) -> None:
            """No heartbeat channel (nobody listens to it)."""

        def init_control(self, context: Any) -> None:
            """The control channel, without ipykernel 7's shell-channel thread: the host runs no
            subshells, so shell requests go straight to the main thread.
            """
            super().init_control(context)  # type: ignore[no-untyped-call]
            channel = getattr(self, "shell_channel_thread", None)
            if channel is not None:
                channel.io_loop.close()
                self.shell_channel_thread = None


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
    shell.run_cell("1 + 1", store_history=True)
    app.close()  # type: ignore[no-untyped-call]
    for singleton in (type(app.kernel), type(shell), IPKernelApp):  # the fork makes its own
        singleton.clear_instance()


def _prepare() -> KernelApp:
    """The application every kernel forks from, prepared, with a fresh shell."""
    _silenced(_warm_up)
    app = KernelApp.instance()
    _silenced(lambda: app.prepare(ARGV))
    if threading.active_count() != 1:  # a fork keeps only the forking thread
        raise RuntimeError(f"the kernel's preparation left threads: {threading.enumerate()}")
    return app


def main() -> None:
    """Serves fork requests until stdin closes."""
    app = None if PROGRAMS_ONLY else _prepare()
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
    if USER_NAMESPACE:  # inits forked through a middle child become the template's
        _check(_libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl")
    own_pids = os.open("/proc/self/ns/pid", os.O_RDONLY)
    lifeline, _held = os.pipe()  # never written: its readers see its end with the template's
    below_tmp = _mount_points_below("/tmp")  # each fork starts with the template's mounts
    gates: dict[str, tuple[int, int, int | None, str]] = {}
    for line in _requests(children, ended):
        request = json.loads(line)
        if request["op"] == "ping":
            sys.stdout.write(json.dumps({"id": request["id"]}) + "\n")
            sys.stdout.flush()
        elif request["op"] == "run" or (request["op"] == "fork" and app is not None):
            read, write = os.pipe()
            runs = request["op"] == "run"
            init, forked = _fork_in_new_pids(own_pids, lifeline if runs else None)
            program = forked if runs else None
            if forked == 0:  # no write end of any gate (its own reads to the end of "go"),
                signal.set_wakeup_fd(-1)  # nor the template's pid namespace, lifeline
                closing = [write, own_pids, lifeline, _held, ended, ends]  # or signal pipe
                for other in closing + [other for other, _, _, _ in gates.values()]:
                    os.close(other)
                if runs:
                    _program_process(request, read, below_tmp)
                _init(request, read, app, below_tmp)
            os.close(read)
            gates[request["id"]] = (write, init, program, request["dir"])
            answer = {"id": request["id"], "pid": init, "program": program}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
        elif (gate := gates.pop(request["id"], None)) is not None:
            write, init, program, directory = gate
            if request["op"] == "go":
                with contextlib.suppress(BrokenPipeError):  # the init is gone already
                    _write_all(write, b"g" + line)
            os.close(write)
            children.release(init)
            if program is not None:
                report = (init, f"{directory}/host") if request["op"] == "go" else None
                children.release(program, report)


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
    """The template's children (inits, programs), each reaped only once the host has
    released it: until then its pid stays taken, even by a child that died at once, so the
    pid the host was given cannot name another process when it opens it. A program that ran
    has its exit code and usage written to its `host` directory, then its init is killed
    (the host waits for the init).
    """

    def __init__(self) -> None:
        self._released: set[int] = set()
        self._reports: dict[int, tuple[int, str]] = {}

    def release(self, pid: int, report: tuple[int, str] | None = None) -> None:
        """The host holds `pid` (or dropped it): reap it once it ends; a program's `report`
        is its init's pid and its `host` directory.
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
    """Writes a program's CPU time (its children's that it waited for included) and largest
    size to `host/usage`, then its exit code to `host/exit` (never following a link).
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


def _fork_in_new_pids(own_pids: int, lifeline: int | None) -> tuple[int, int]:
    """Forks a child into a new pid namespace (the template stays in its own): a kernel's
    init, pid 1 there, or, given the `lifeline`, a program, pid 2 under `_spawn_init`.
    Returns (pid 1, child) as the template sees them, the child 0 in the child.
    """
    if USER_NAMESPACE:
        return _fork_through_middle(lifeline)
    _check(_libc.unshare(_NEWPID), "unshare")
    init = 0
    try:
        if lifeline is not None:
            init = _spawn_init(lifeline)
        child = os.fork()
    except BaseException:
        _check(_libc.setns(own_pids, _NEWPID), "setns")
        if init:
            os.kill(init, signal.SIGKILL)
            os.waitpid(init, 0)
        raise
    if child != 0:
        _check(_libc.setns(own_pids, _NEWPID), "setns")
    return init or child, child


def _fork_through_middle(lifeline: int | None) -> tuple[int, int]:
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
            init = _spawn_init(lifeline) if lifeline is not None else 0
            child = os.fork()
            if child == 0:
                os.close(say)
                return init, 0
            _write_all(say, f"{init or child} {child}".encode())
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


def _spawn_init(lifeline: int) -> int:
    """Starts pid 1 of the namespace being made: `cat` of `lifeline` to /dev/null, a small
    process without Python that holds the namespace (killing it kills every process in it)
    and ends with the template. Orphans it does not reap wait as zombies for that end.
    """
    return os.posix_spawn(
        CAT,
        ["cat"],
        {},
        file_actions=[
            (os.POSIX_SPAWN_DUP2, lifeline, 0),
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
    )


def _init(request: dict[str, Any], gate: int, app: KernelApp | None, below_tmp: list[str]) -> None:
    """Pid 1 of a kernel's namespaces: isolates itself, waits for "go" (it is in its cgroup
    then), forks the kernel, reaps, and reports the kernel's exit. `below_tmp` are the
    outermost mount points below /tmp.
    """
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # the code may have its uid on the host (see USER_NAMESPACE): as pid 1 it ignores
        # signals it has no handler for, and undumpable it cannot be traced or opened
        handlers = _default_handlers()
        _check(_libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl")
        host = _output_to_log(request)
        exit_code = _create("exit", dir_fd=host)
        os.close(host)
        _isolate(request, below_tmp)
        request["limits"] = _wait_for_go(gate)["limits"]
        child = os.fork()
        if child == 0:
            for number, handler in handlers.items():
                signal.signal(number, handler)
            os.close(exit_code)
            assert app is not None  # a kernel is forked only from a template that has one
            _kernel(request, app)
        while True:
            pid, status = os.waitpid(-1, 0)
            if pid == child:
                os.write(exit_code, str(os.waitstatus_to_exitcode(status)).encode())
                os._exit(0)
    except BaseException:
        traceback.print_exc()
        os._exit(70)


def _program_process(request: dict[str, Any], gate: int, below_tmp: list[str]) -> None:
    """A one-shot program, pid 2 of its pid namespace (the template reaps it and reports its
    end): isolates itself, waits for "go" with the code (meanwhile the host writes its stdin
    and files and puts it in its cgroup), and runs it unprivileged on its directory's
    `host/stdin` and the fifos `host/stdout` and `host/stderr`. Its log gets only what
    failed before the code ran.
    """
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        host = _output_to_log(request)
        _isolate(request, below_tmp)
        sent = _wait_for_go(gate)
        request.update(limits=sent["limits"], code=sent["code"])
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


def _default_handlers() -> dict[int, Any]:
    """Sets every signal with a Python handler to its default; returns the handlers."""
    handlers: dict[int, Any] = {}
    for number in signal.valid_signals():
        handler = signal.getsignal(number)
        if callable(handler):
            handlers[number] = handler
            signal.signal(number, signal.SIG_DFL)
    return handlers


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
    `limits` (never above the template's own hard limits); killed when its init dies.
    """
    _die_with_parent()
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
        connection = os.open(
            CONNECTION_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600
        )
        with os.fdopen(connection, "w", encoding="utf-8") as file:
            json.dump(request["connection"], file)
        assert app.profile_dir is not None
        os.makedirs(app.profile_dir.location, exist_ok=True)  # in this kernel's own /tmp
        app.profile_dir.check_dirs()  # type: ignore[no-untyped-call]
        app.initialize()  # type: ignore[no-untyped-call]
        assert app.kernel is not None
        app.kernel.shell.kernel = app.kernel  # the shell was created before the kernel
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
        if os.environ != ENVIRONMENT:  # ipykernel's additions (a kernel template's)
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
