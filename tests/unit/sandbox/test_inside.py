"""The code that runs inside the sandbox repeats what it shares with the host (it cannot
import the project): each of those values must be the host's.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from typing import Any

import pytest
from harmony_agent.sandbox import SandboxConfig
from harmony_agent.sandbox._config import WORKDIR
from harmony_agent.sandbox._inside import inside_source
from harmony_agent.sandbox._launch import NOBODY, RUN_DIR, kernel_limits
from harmony_agent.sandbox._template import KERNELS

LIMIT_NAMES = set(kernel_limits(SandboxConfig(), cgroup=False))


def constants(module: str) -> dict[str, Any]:
    """The module's top-level `NAME = <literal>` assignments, and the keys of its `_LIMITS`."""
    found: dict[str, Any] = {}
    for node in ast.parse(inside_source(module)).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name == "_LIMITS" and isinstance(node.value, ast.Dict):
                found[name] = {ast.literal_eval(key) for key in node.value.keys if key}
            else:
                try:
                    found[name] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    return found


def test_the_template_shares_the_hosts_paths_uid_and_limits() -> None:
    template = constants("template")
    assert template["WORKDIR"] == WORKDIR
    assert template["RUN_DIR"] == RUN_DIR
    assert template["KERNELS"] == KERNELS
    assert template["NOBODY"] == NOBODY
    assert template["_LIMITS"] == LIMIT_NAMES


def test_the_bootstrap_takes_every_limit_the_host_sets() -> None:
    assert constants("bootstrap")["_LIMITS"] == LIMIT_NAMES


@pytest.mark.parametrize("module", ["bootstrap", "template"])
def test_inside_code_imports_nothing_of_the_project(module: str) -> None:
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(ast.parse(inside_source(module)))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {name for name in imported if name.startswith("harmony_agent")}


_REAPS_WITHOUT_REQUESTS = """
import os, signal, sys, time
calls = []

class Children:
    def reap(self):
        calls.append(time.monotonic())

ended, ends = os.pipe()
os.set_blocking(ended, False)
os.set_blocking(ends, False)
signal.set_wakeup_fd(ends)
signal.signal(signal.SIGCHLD, lambda *_: None)
host, requests = os.pipe()
os.dup2(host, 0)
if os.fork() == 0:
    time.sleep(0.2)
    os._exit(0)
if os.fork() == 0:  # the host: a line after the child ended, then the end
    time.sleep(0.6)
    os.write(requests, b'{"op": "ping"}\\n')
    os._exit(0)
os.close(requests)
start = time.monotonic()
lines = list(_requests(Children(), ended))
print(lines == [b'{"op": "ping"}'], [round(at - start, 1) for at in calls][:1])
"""


def test_the_template_reaps_when_a_child_ends_without_a_request() -> None:
    """The template's loop reaps on SIGCHLD's byte on the wakeup fd, not in a Python handler
    that may run too late: here a child ends while the loop waits for a request that comes
    only later.
    """
    source = inside_source("template").replace('if __name__ == "__main__":', "if False:")
    run = subprocess.run(
        [sys.executable, "-c", source + _REAPS_WITHOUT_REQUESTS, "programs"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert run.stdout == "True [0.2]\n", run.stderr
