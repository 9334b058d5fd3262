"""Running a command as a created non-root user, for the tests of what such a user gets.

Needs root (to create the user). The user must run this interpreter and read this checkout,
which may lie below a directory only root may enter (a home of mode 0700): the command runs
in a mount namespace of its own in which each such directory is an open copy of itself (a
tmpfs of mode 0755 holding its entries, each bound from the original). Nothing changes on
the host but the user's existence.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["USER", "can_run_as_user", "run_as_user"]

USER = "harmony-sandbox-test"
"""The created user: a system account without a home or a login shell."""

_ENTER = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)

def mount(source, target, fstype, flags, data):
    if libc.mount(source, target.encode(), fstype, flags, data) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {target}: {os.strerror(error)}")

user, uid, gid, home, closed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:6]
command = sys.argv[6:]
for directory in closed.split("\0") if closed else ():
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
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """Runs `command` as the created user in `cwd`, with `home` (made the user's) as HOME,
    able to run this interpreter and read `cwd`. Output is captured as text.
    """
    user = _user()
    os.chown(home, user.pw_uid, user.pw_gid)
    needed = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable), cwd]
    closed = "\0".join(_closed_directories(needed))
    ids = [USER, str(user.pw_uid), str(user.pw_gid)]
    enter = [sys.executable, "-c", _ENTER, *ids, str(home), closed]
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", *enter, *command],
        cwd=cwd,
        env={**os.environ, **(env or {}), "PWD": str(cwd)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
