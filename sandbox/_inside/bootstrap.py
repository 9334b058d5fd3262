"""The first code a kernel process runs, inside the sandbox: limits, then ipykernel.

Run as `python -c <this file's source> LIMITS_JSON CONNECTION_FILE` with the connection (its
key included) as JSON on standard input. It sets the resource limits, asks to be killed when
its parent dies, writes the connection file (the host never writes where the code can), and
replaces itself with ipykernel. It imports nothing from harmony_agent: the sandbox cannot see
the project's source.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys

__all__ = ["main"]

_PR_SET_PDEATHSIG = 1
_MAX_CONNECTION_BYTES = 1 << 16
_LIMITS = {
    "as": resource.RLIMIT_AS,
    "cpu": resource.RLIMIT_CPU,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "nproc": resource.RLIMIT_NPROC,
    "core": resource.RLIMIT_CORE,
}


def main(argv: list[str]) -> None:
    """Applies the limits in `argv[0]` (JSON), writes standard input to the connection file
    `argv[1]` and execs ipykernel with it.
    """
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    for name, value in json.loads(argv[0]).items():
        resource.setrlimit(_LIMITS[name], (value, value))
    connection = sys.stdin.buffer.read(_MAX_CONNECTION_BYTES)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(argv[1], flags, 0o600), "wb") as file:
        file.write(connection)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            argv[1],
            "--HistoryManager.enabled=False",
        ],
    )


if __name__ == "__main__":
    main(sys.argv[1:])
