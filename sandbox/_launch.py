"""The command line that starts a process in the sandbox: cgroup, bubblewrap, user, limits.

    sh (joins the cgroup) -> bwrap (namespaces, filesystem view) -> setpriv (uid 65534,
    no capabilities) -> python _inside/bootstrap.py (rlimits, parent-death signal) -> ipykernel

Each layer is present only where `Layers` says it works on this host.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harmony_agent.sandbox._config import WORKDIR, SandboxConfig
from harmony_agent.sandbox._errors import ConfigError
from harmony_agent.sandbox._inside import inside_source

__all__ = [
    "NOBODY",
    "RUN_DIR",
    "Launch",
    "Layers",
    "PythonInstall",
    "bootstrap_command",
    "build_launch",
    "kernel_limits",
    "python_install",
]

NOBODY = 65534
"""The uid and gid code runs as when the sandbox starts as root."""
RUN_DIR = "/run/kernel"
"""Where the kernel's sockets and connection file appear inside bubblewrap."""
_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Layers:
    """Which wrappers a launch uses (what the isolation probe found to work)."""

    bubblewrap: bool
    setpriv: bool  # root: drop to NOBODY; non-root already runs unprivileged
    cgroup: bool


@dataclass(frozen=True)
class PythonInstall:
    """The kernel's interpreter: the path to run and the directories it needs to read."""

    executable: str
    prefixes: tuple[str, ...]


@functools.cache
def python_install(python: Path | None) -> PythonInstall:
    """Asks the interpreter (default: this one) where it lives. Cached per path; raises
    `ConfigError` when it cannot run.
    """
    executable = str(python) if python is not None else sys.executable
    if python is None:
        prefixes = {sys.prefix, sys.base_prefix}
    else:
        try:
            output = subprocess.run(
                [executable, "-c", "import sys; print(sys.prefix); print(sys.base_prefix)"],
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            ).stdout
        except (OSError, subprocess.SubprocessError) as error:
            raise ConfigError(f"python: {executable} cannot run: {error}") from error
        prefixes = set(output.split())
    real = os.path.dirname(os.path.dirname(os.path.realpath(executable)))
    prefixes.add(real)
    kept = sorted(p for p in prefixes if not p.startswith("/usr/"))
    return PythonInstall(executable, tuple(kept))


@dataclass(frozen=True)
class Launch:
    """A ready command: argv, environment, working directory (host side)."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path


def _environment(home: str, tmp: str) -> dict[str, str]:
    """The whole environment the code sees: nothing is inherited from the parent."""
    return {
        "PATH": _PATH,
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "MALLOC_ARENA_MAX": "2",
        "IPYTHONDIR": f"{tmp}/.ipython",
        "MPLCONFIGDIR": f"{tmp}/.matplotlib",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _parents(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _bwrap_args(
    config: SandboxConfig,
    install: PythonInstall,
    work: Path,
    run: Path,
    env: dict[str, str],
    binds: Sequence[tuple[Path, str]],
) -> list[str]:
    args = ["bwrap", "--die-with-parent", "--new-session", "--clearenv"]
    args += ["--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not binds:  # a template process (with binds) reports its children's pids to the host
        args += ["--unshare-pid"]
    if os.geteuid() != 0:
        args += ["--unshare-user"]
        if binds:  # the template makes namespaces for its children: root in its own
            args += ["--uid", "0", "--gid", "0", "--cap-add", "ALL"]
    if not config.network:
        args += ["--unshare-net"]
    args += ["--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        target = os.readlink(f"/{name}") if os.path.islink(f"/{name}") else None
        if target is not None:
            args += ["--symlink", target, f"/{name}"]
        elif os.path.isdir(f"/{name}"):
            args += ["--ro-bind", f"/{name}", f"/{name}"]
    etc = ["/etc/ld.so.cache", "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/fonts"]
    if config.network:
        etc += ["/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/ssl"]
    for path in etc:
        args += ["--ro-bind-try", path, path]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(config.max_file_mb << 20), "--tmpfs", "/tmp"]
    made: set[str] = {"/", "/usr", "/etc", "/tmp", "/proc", "/dev"}
    mounts = [(prefix, prefix) for prefix in install.prefixes]
    mounts += [(str(m.source), m.target or str(m.source)) for m in config.read_only_mounts]
    for source, target in mounts:
        for parent in _parents(target):
            if parent not in made:
                args += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        args += ["--ro-bind", source, target]
    args += ["--perms", "0755", "--dir", "/mnt", "--bind", str(work), WORKDIR]
    # the template's own run directory is what its programs see there: read-only
    run_bind = "--ro-bind" if binds else "--bind"
    args += ["--perms", "0755", "--dir", "/run", run_bind, str(run), RUN_DIR]
    for directory, inside in binds:
        args += ["--bind", str(directory), inside]
    # the directories made above belong to the user who started bubblewrap, who is the code's
    # user on the host when that user is not root: the code must not write them
    args += ["--remount-ro", "/", "--remount-ro", "/dev"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return [*args, "--chdir", WORKDIR, "--"]


def build_launch(
    inner: Sequence[str],
    *,
    layers: Layers,
    config: SandboxConfig,
    install: PythonInstall,
    work: Path,
    run: Path,
    procs_files: Sequence[Path] = (),
    binds: Sequence[tuple[Path, str]] = (),
) -> Launch:
    """Wraps `inner` (a command as the sandbox sees it) in the layers that work here.

    `binds` are extra writable (host, sandbox) directories, for the kernel template process.
    """
    if layers.bubblewrap:
        env = _environment(home="/tmp", tmp="/tmp")
        argv = _bwrap_args(config, install, work, run, env, binds)
    else:
        env = _environment(home=str(work), tmp=str(run))
        argv = []
    if layers.setpriv:
        argv += [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
        ]
    argv += list(inner)
    if procs_files:
        joins = "; ".join(f"echo $$ > {shlex.quote(str(f))}" for f in procs_files)
        argv = ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh", *argv]
    return Launch(argv, {"PATH": _PATH} if layers.bubblewrap else env, work)


def kernel_limits(config: SandboxConfig, *, cgroup: bool) -> dict[str, int]:
    """The rlimits of a kernel process, by name (see `_inside/bootstrap.py`)."""
    limits = {
        "as": config.memory_mb << 20,
        "cpu": config.cpu_seconds,
        "fsize": config.max_file_mb << 20,
        "nofile": config.max_open_files,
        "core": 0,
    }
    if not cgroup:  # per-user, so only a fallback: the pids cgroup counts this tree alone
        limits["nproc"] = config.max_processes
    return limits


def bootstrap_command(
    install: PythonInstall, config: SandboxConfig, connection_file: str, *, cgroup: bool
) -> list[str]:
    """The kernel command: the bootstrap with its limits, then ipykernel on `connection_file`."""
    source = inside_source("bootstrap")
    limits = json.dumps(kernel_limits(config, cgroup=cgroup))
    return [install.executable, "-c", source, limits, connection_file]
