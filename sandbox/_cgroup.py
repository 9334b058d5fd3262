"""A cgroup per kernel: caps the memory and the process count of its whole process tree.

cgroup v2 (`memory.max`, `pids.max`) where its controllers can be delegated, else the v1
`memory` and `pids` hierarchies. Processes join before their code runs (`join`, or a
launcher writing to `procs_files`), so nothing forked early escapes; `kill` empties the
group and `remove` deletes it. A `CgroupPool` keeps emptied groups for the next process
trees (one-shot programs).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PREFIX", "Cgroup", "CgroupError", "CgroupPool", "cgroup_support", "owner_alive"]

PREFIX = "harmony-sandbox-"
"""Names of the sandbox's cgroups and directories: PREFIX, the owner's pid, a dash, a tag."""


class CgroupError(OSError):
    """The cgroup could not be created or configured."""


@dataclass(frozen=True)
class _Hierarchy:
    version: int
    memory: Path | None  # the parent directory for new groups (v2: the same for both)
    pids: Path | None


def _mounts() -> dict[str, Path]:
    """Mount points by controller (`memory`, `pids`, or `2` for the unified hierarchy)."""
    found: dict[str, Path] = {}
    with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            dash = fields.index("-")
            kind, options = fields[dash + 1], fields[dash + 3].split(",")
            if kind == "cgroup2":
                found.setdefault("2", Path(fields[4]))
            elif kind == "cgroup":
                for controller in ("memory", "pids"):
                    if controller in options:
                        found[controller] = Path(fields[4])
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per controller (`2` for the unified hierarchy)."""
    paths: dict[str, str] = {}
    with open("/proc/self/cgroup", encoding="utf-8") as cgroup:
        for line in cgroup:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controllers == "":
                paths["2"] = path
            for controller in controllers.split(","):
                paths[controller] = path
    return paths


def _writable(directory: Path) -> bool:
    return directory.is_dir() and os.access(directory, os.W_OK)


@functools.cache
def _find_hierarchy() -> _Hierarchy | None:
    """Where this process may create groups (read once: a process's cgroups and the
    host's mounts stay put while it runs).
    """
    mounts, own = _mounts(), _own_paths()
    if "2" in mounts and "2" in own:
        parent = mounts["2"] / own["2"].lstrip("/")
        controllers = (parent / "cgroup.subtree_control").read_text() if parent.is_dir() else ""
        if _writable(parent) and {"memory", "pids"} <= set(controllers.split()):
            return _Hierarchy(2, parent, parent)
    memory = pids = None
    if "memory" in mounts and "memory" in own:
        candidate = mounts["memory"] / own["memory"].lstrip("/")
        memory = candidate if _writable(candidate) else None
    if "pids" in mounts and "pids" in own:
        candidate = mounts["pids"] / own["pids"].lstrip("/")
        pids = candidate if _writable(candidate) else None
    if memory is None and pids is None:
        return None
    return _Hierarchy(1, memory, pids)


def cgroup_support() -> tuple[int, bool, bool] | None:
    """(version, memory capped, processes capped) on this host, or None without cgroups.

    Checked by creating and removing a group, so it needs the permissions real use needs.
    """
    try:
        group = Cgroup.create(memory_bytes=1 << 30, max_processes=64)
    except (CgroupError, OSError):
        return None
    try:
        return group.version, group.caps_memory, group.caps_processes
    finally:
        group.remove()


def owner_alive(name: str) -> bool:
    """Whether the process that created the cgroup or directory `name` still runs."""
    pid = name.removeprefix(PREFIX).partition("-")[0]
    return not pid.isdigit() or Path(f"/proc/{pid}").exists()


class Cgroup:
    """One kernel's cgroup (one directory per controller on v1, one on v2)."""

    def __init__(
        self, version: int, directories: tuple[Path, ...], memory: Path | None, pids: Path | None
    ) -> None:
        self.version = version
        self.directories = directories
        self._memory = memory
        self._pids = pids
        # read and written after each program: paths made once, files used without io objects
        self._procs = tuple(f"{directory}/cgroup.procs" for directory in directories)
        peak, events = (
            ("memory.peak", "memory.events")
            if version == 2
            else ("memory.max_usage_in_bytes", "memory.oom_control")
        )
        self._peak_file = None if memory is None else f"{memory}/{peak}"
        self._events_file = None if memory is None else f"{memory}/{events}"
        self._oom_kills_before = 0

    @property
    def caps_memory(self) -> bool:
        """Whether the group limits memory."""
        return self._memory is not None

    @property
    def caps_processes(self) -> bool:
        """Whether the group limits the number of processes."""
        return self._pids is not None

    @classmethod
    def create(cls, *, memory_bytes: int, max_processes: int) -> Cgroup:
        """Creates a group with these limits under this process's own group."""
        hierarchy = _find_hierarchy()
        if hierarchy is None:
            raise CgroupError("no writable cgroup hierarchy")
        name = f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        created: list[Path] = []
        try:
            if hierarchy.version == 2 and hierarchy.memory is not None:
                directory = hierarchy.memory / name
                directory.mkdir()
                created.append(directory)
                (directory / "memory.max").write_text(str(memory_bytes))
                with contextlib.suppress(FileNotFoundError):
                    (directory / "memory.swap.max").write_text("0")
                (directory / "pids.max").write_text(str(max_processes))
                return cls(2, (directory,), directory, directory)
            memory = pids = None
            if hierarchy.memory is not None:
                memory = hierarchy.memory / name
                memory.mkdir()
                created.append(memory)
                (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
                with contextlib.suppress(OSError):  # absent without swap accounting
                    (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
            if hierarchy.pids is not None:
                pids = hierarchy.pids / name
                pids.mkdir()
                created.append(pids)
                (pids / "pids.max").write_text(str(max_processes))
            return cls(1, tuple(created), memory, pids)
        except OSError as error:
            for directory in reversed(created):
                with contextlib.suppress(OSError):
                    directory.rmdir()
            raise CgroupError(f"cannot set up cgroup {name}: {error}") from error

    @classmethod
    def remove_orphans(cls) -> int:
        """Kills and removes the groups left by processes that died without closing their
        kernels (e.g. killed with SIGKILL); returns how many were removed.
        """
        hierarchy = _find_hierarchy()
        if hierarchy is None:
            return 0
        parents = {p for p in (hierarchy.memory, hierarchy.pids) if p is not None}
        removed = 0
        for parent in parents:
            for directory in parent.glob(f"{PREFIX}*"):
                if owner_alive(directory.name):
                    continue
                orphan = cls(hierarchy.version, (directory,), None, None)
                orphan.kill()
                with contextlib.suppress(OSError):
                    orphan.remove()
                    removed += 1
        return removed

    @property
    def procs_files(self) -> tuple[Path, ...]:
        """The `cgroup.procs` files a process writes its pid to, to join."""
        return tuple(directory / "cgroup.procs" for directory in self.directories)

    def join(self, pid: int) -> None:
        """Moves the process `pid` into the group (its later children follow it)."""
        for procs in self._procs:
            _write(procs, str(pid))

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer killed in this group (since `reset`)."""
        return self._oom_kills_total() - self._oom_kills_before

    def _oom_kills_total(self) -> int:
        if self._events_file is None:
            return 0
        try:
            text = _read(self._events_file)
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def peak_memory(self) -> int | None:
        """The most memory the group used at once, in bytes (None where the host does not
        say: no memory controller, or a cgroup v2 kernel before `memory.peak`).
        """
        if self._peak_file is None:
            return None
        try:
            return int(_read(self._peak_file))
        except (OSError, ValueError):
            return None

    def reset(self) -> bool:
        """Makes an emptied group ready for another process tree: its peak memory and OOM
        kill count start again. False where it cannot be (processes left, or cgroup v2,
        whose peak cannot be reset for the next reader): dispose of it instead.
        """
        if self.version == 2 or self.pids():
            return False
        if self._peak_file is not None:
            try:
                _write(self._peak_file, "0")
            except OSError:
                return False
        self._oom_kills_before = self._oom_kills_total()
        return True

    def pids(self) -> list[int]:
        """The processes in the group."""
        found: set[int] = set()
        for procs in self._procs:
            with contextlib.suppress(OSError):
                found.update(int(pid) for pid in _read(procs).split())
        return sorted(found)

    def kill(self) -> None:
        """SIGKILLs every process in the group, repeating until none is left (a fork bomb
        may fork while it is being killed). Blocking: run it in a thread.
        """
        kill_file = self.directories[0] / "cgroup.kill"
        if self.version == 2 and kill_file.exists():
            kill_file.write_text("1")
        for _ in range(2000):  # about two seconds at most
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.001)  # killed processes leave the group once reaped

    def dispose(self) -> bool:
        """Kills the group's processes and deletes it, waiting up to two seconds for them to
        be reaped; False when it could not be removed. Blocking: run it in a thread.
        """
        self.kill()
        for _ in range(100):
            try:
                self.remove()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def remove(self) -> None:
        """Deletes the group. Its processes must be gone (`kill`, then reap them): raises
        OSError (EBUSY) while the kernel still counts some.
        """
        for directory in self.directories:
            with contextlib.suppress(FileNotFoundError):
                directory.rmdir()


class CgroupPool:
    """Cgroups with the same limits, each emptied one kept for the next process tree (its
    peak memory and OOM count started again); once closed, every group given back is
    removed instead. Thread-safe.
    """

    def __init__(self, *, memory_bytes: int, max_processes: int) -> None:
        self._limits = {"memory_bytes": memory_bytes, "max_processes": max_processes}
        self._idle: list[Cgroup] = []
        self._closed = False
        self._lock = threading.Lock()

    def take(self) -> Cgroup:
        """An idle group, or a new one. Blocking."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return Cgroup.create(**self._limits)

    def give_back(self, cgroup: Cgroup) -> None:
        """Keeps `cgroup` for the next tree if it can be reset, else removes it. Blocking."""
        with self._lock:
            if not self._closed and cgroup.reset():
                self._idle.append(cgroup)
                return
        cgroup.dispose()

    def close(self) -> None:
        """Removes the idle groups; those given back later are removed too. Blocking."""
        with self._lock:
            self._closed, idle, self._idle = True, self._idle, []
        for cgroup in idle:
            cgroup.dispose()


def _read(path: str) -> str:
    """The text of a cgroup file (a file object's buffers cost more than the read)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(fd)


def _write(path: str, text: str) -> None:
    """Writes `text` to a cgroup file in one write (as the kernel expects)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
