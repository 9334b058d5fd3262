"""The sandbox's suites again, as a created non-root user: what most people run it as.

Such a user gets forked kernels and one-shot programs through user namespaces, and a cgroup
only where one is delegated to it; the suites check the layers it can have
(`kernels.assert_every_layer_this_user_can_have`) and every escape attempt against them. The
tests of what only a cgroup does run a second time as the user with a cgroup delegated to it,
as an administrator or systemd (`Delegate=yes`) hands one to a user's service.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.integration.sandbox.kernels import DELEGATED_CGROUP
from tests.unprivileged import can_run_as_user, delegated_cgroup, run_as_user

ROOT = Path(__file__).resolve().parents[3]
SUITES = ["tests/integration/sandbox", "tests/unit/sandbox"]
THIS_FILE = str(Path(__file__).resolve().relative_to(ROOT))
"""Run as the user too: its tests skip there, which shows whose run it was."""
CGROUP_SUITES = [
    str(path.relative_to(ROOT))
    for path in sorted(Path(__file__).resolve().parent.glob("test_*.py"))
    if path.name != Path(__file__).name
    and re.search(r"\b(needs_cgroup|cgroups_here)\b", path.read_text())
]
"""The files with tests of what only a cgroup does (`kernels.needs_cgroup`, `cgroups_here`)."""


def test_the_sandbox_suites_pass_as_a_non_root_user(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("this run is a non-root user's already")
    why_not = can_run_as_user()
    assert why_not is None, why_not  # root here: the run as a user must happen
    done = run_as_user(
        [sys.executable, "-m", "pytest", *SUITES, "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=ROOT,
        home=tmp_path,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
        timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-8000:]
    summary = output.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary, output[-8000:]
    assert "this run is a non-root user's already" in output  # it ran as the user


def test_the_cgroup_tests_pass_as_a_non_root_user_with_a_delegated_cgroup(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("this run is a non-root user's already")
    why_not = can_run_as_user()
    assert why_not is None, why_not
    with delegated_cgroup(memory_bytes=8 << 30, max_processes=4096) as cgroup:
        done = run_as_user(
            [
                sys.executable,
                "-m",
                "pytest",
                *CGROUP_SUITES,
                THIS_FILE,
                "-q",
                "-p",
                "no:cacheprovider",
                "-rs",
            ],
            cwd=ROOT,
            home=tmp_path,
            env={"PYTHONDONTWRITEBYTECODE": "1", DELEGATED_CGROUP: "1"},
            cgroup=cgroup,
            timeout=900,
        )
        # the user's sandboxes made their groups in the delegated one and removed them all
        left = [p for d in cgroup.directories for p in d.iterdir() if p.is_dir()]
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-8000:]
    assert " passed" in output.strip().splitlines()[-1], output[-8000:]
    assert "this run is a non-root user's already" in output  # it ran as the user
    assert "no cgroup for this user here" not in output  # ...and every cgroup test ran
    assert not left, f"cgroups left in the delegated one: {left}"
