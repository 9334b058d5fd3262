"""The processes a test leaves behind: what an engine started and did not end."""

from __future__ import annotations

import psutil


def child_processes() -> set[int]:
    """The pids of this process's descendants."""
    return {child.pid for child in psutil.Process().children(recursive=True)}


def processes_left(before: set[int], grace_s: float = 10.0) -> list[str]:
    """The command lines of descendants not in `before` still alive after `grace_s`.

    multiprocessing's resource tracker is not counted: Python starts one per process on first
    use, shares it, and it ends with the process.
    """
    new = [psutil.Process(pid) for pid in child_processes() - before if psutil.pid_exists(pid)]
    _, alive = psutil.wait_procs(new, timeout=grace_s)
    commands = [" ".join(p.cmdline()) for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    return [c for c in commands if "multiprocessing.resource_tracker" not in c]
