"""Real sandboxed kernels for the tests: small limits, and both ways a kernel comes to be."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harmony_agent.sandbox import (
    IsolationReport,
    KernelPool,
    Sandbox,
    SandboxConfig,
    check_isolation,
)

FAST = SandboxConfig(
    cell_timeout_s=2.0,
    interrupt_grace_s=1.0,
    memory_mb=512,
    max_processes=64,
    max_file_mb=64,
    output_chars=1000,
)
"""Small limits and short timeouts: every test here finishes in seconds."""


DELEGATED_CGROUP = "HARMONY_TEST_DELEGATED_CGROUP"
"""Set (to 1) where the run is a non-root user's with a cgroup delegated to it
(test_as_a_user): every layer is then expected, the cgroup included."""

KINDS = ["started", "forked"]
"""The two ways a kernel comes to be; fixtures over real kernels run their tests on both."""


@contextlib.asynccontextmanager
async def open_sandbox(kind: str, config: SandboxConfig = FAST) -> AsyncIterator[Sandbox]:
    """A kernel `started` on its own, or `forked` from a pool's template process."""
    if kind == "forked":
        async with KernelPool(config, size=1, fork=True) as pool, Sandbox(pool=pool) as sandbox:
            yield sandbox
    else:
        async with Sandbox(config) as sandbox:
            yield sandbox


def cgroups_here() -> bool:
    """Whether kernels and programs get a cgroup here: as root; as another user only where
    one is delegated to that user (this suite also runs as a created user: test_as_a_user).
    """
    return check_isolation(FAST).cgroup_version is not None


needs_cgroup = pytest.mark.skipif(
    not cgroups_here(), reason="no cgroup for this user here: capped per process only"
)
"""For what only a cgroup can do: cap a process tree's memory, list its processes."""


def assert_every_layer_this_user_can_have(report: IsolationReport) -> None:
    """Every layer as root or with a delegated cgroup; as another user, every layer but a
    cgroup where none is delegated to it, which the report then names as missing.
    """
    assert report.bubblewrap and report.unprivileged, report.lines()
    delegated = os.environ.get(DELEGATED_CGROUP) == "1"
    if os.geteuid() == 0 or delegated or report.cgroup_version is not None:
        assert report.complete, report.lines()
    else:
        assert not report.memory_capped and any("cgroup" in p for p in report.problems)


def descendants(pid: int) -> list[int]:
    """Every descendant of `pid`."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *descendants(int(child))]
    return found
