"""Running a command as a created non-root user, for the tests of what such a user gets.

Needs root (to create the user, and to delegate a cgroup to it as an administrator or systemd
would). The user must run this interpreter and read this checkout, which may lie below a
directory only root may enter (a home of mode 0700): the command runs in a mount namespace of
its own in which each such directory is an open copy of itself (a tmpfs of mode 0755 holding
its entries, each bound from the original). Nothing changes on the host but the user's
existence (and a delegated cgroup while it is used).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from harmony_agent.sandbox._cgroup import Cgroup

__all__ = ["USER", "can_run_as_user", "delegated_cgroup", "run_as_user"]

USER = "harmony-sandbox-test"
"""The created user: a system account without a home or a login shell."""

_ENTER = r"""
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)

def mount(source, target, fstype, flags, data):
    if libc.mount(source, target.encode(), fstype, flags, data) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {target}: {os.strerror(error)}")

user, uid, gid, home, closed, joined = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:7]
command = sys.argv[7:]
for procs in json.loads(joined):
    with open(procs, "w") as file:
        file.write(str(os.getpid()))
for directory in json.loads(closed):
    original = os.open(directory, os.O_PATH | os.O_DIRECTORY)
    entries = list(os.scandir(directory))
    mount(b"tmpfs", directory, b"tmpfs", 0, b"mode=755")
    for entry in entries:
        place = os.path.join(directory, entry.name)
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), place)
            continue
        if entry.is_dir():
            os.mkdir(place)
        else:
            open(place, "w").close()
        mount(f"/proc/self/fd/{original}/{entry.name}".encode(), place, None, 4096 | 16384, None)
    os.close(original)
os.setgroups([])
os.setresgid(gid, gid, gid)
os.setresuid(uid, uid, uid)
os.chdir(os.environ.get("PWD", "/"))
os.execvpe(command[0], command, {**os.environ, "HOME": home, "USER": user})
"""


def can_run_as_user() -> str | None:
    """Why commands cannot run as the created user here, or None when they can."""
    if os.geteuid() != 0:
        return "creating a user needs root"
    for tool in ("useradd", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _user() -> pwd.struct_passwd:
    """The test user, created the first time."""
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(USER)


_DELEGATED_FILES = ("cgroup.procs", "tasks", "cgroup.subtree_control", "cgroup.threads")
"""What a delegation hands to the user besides the group's directory (as systemd's
`Delegate=yes` does; `tasks` is v1's, the last two v2's)."""


@contextlib.contextmanager
def delegated_cgroup(*, memory_bytes: int, max_processes: int) -> Iterator[Cgroup]:
    """A cgroup with these limits made the test user's to manage: it may create groups in
    it and move its processes between them. Killed and removed at the end.
    """
    user = _user()
    group = Cgroup.create(memory_bytes=memory_bytes, max_processes=max_processes)
    try:
        for directory in group.directories:
            os.chown(directory, user.pw_uid, user.pw_gid)
            for name in _DELEGATED_FILES:
                with contextlib.suppress(FileNotFoundError):
                    os.chown(directory / name, user.pw_uid, user.pw_gid)
        yield group
    finally:
        group.kill()
        for directory in group.directories:  # what the user's run left in it, deepest first
            for inner, _, _ in os.walk(directory, topdown=False):
                if inner != str(directory):
                    with contextlib.suppress(OSError):
                        os.rmdir(inner)
        if not group.dispose():
            raise RuntimeError(f"the delegated cgroup {group.directories} could not be removed")


def _closed_directories(paths: Sequence[Path]) -> list[str]:
    """The directories above `paths` that others may not enter, outermost first."""
    closed: set[str] = set()
    for path in paths:
        for directory in [*reversed(path.resolve().parents), path.resolve()]:
            if directory.is_dir() and not directory.stat().st_mode & 0o001:
                closed.add(str(directory))
    return sorted(closed, key=lambda d: (d.count("/"), d))


def run_as_user(
    command: Sequence[str],
    *,
    cwd: Path,
    home: Path,
    env: Mapping[str, str] | None = None,
    cgroup: Cgroup | None = None,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """Runs `command` as the created user in `cwd`, with `home` (made the user's) as HOME,
    able to run this interpreter and read `cwd`, and in `cgroup` (one of `delegated_cgroup`)
    if given. Output is captured as text.
    """
    user = _user()
    os.chown(home, user.pw_uid, user.pw_gid)
    needed = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable), cwd]
    closed = json.dumps(_closed_directories(needed))
    ids = [USER, str(user.pw_uid), str(user.pw_gid)]
    joined = json.dumps([str(p) for p in cgroup.procs_files] if cgroup else [])
    enter = [sys.executable, "-c", _ENTER, *ids, str(home), closed, joined]
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", *enter, *command],
        cwd=cwd,
        env={**os.environ, **(env or {}), "PWD": str(cwd)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
