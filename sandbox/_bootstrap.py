"""The first code a kernel process runs, inside the sandbox: limits, then ipykernel.

Run as `python -c <this file's source> LIMITS_JSON CONNECTION_FILE`. It sets the resource
limits, asks to be killed when its parent dies, and replaces itself with ipykernel. It imports
nothing from harmony_agent: the sandbox cannot see the project's source.
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
_LIMITS = {
    "as": resource.RLIMIT_AS,
    "cpu": resource.RLIMIT_CPU,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "nproc": resource.RLIMIT_NPROC,
    "core": resource.RLIMIT_CORE,
}


def main(argv: list[str]) -> None:
    """Applies the limits in `argv[0]` (JSON) and execs ipykernel with `argv[1]`."""
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    for name, value in json.loads(argv[0]).items():
        resource.setrlimit(_LIMITS[name], (value, value))
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
