"""The sandbox's suites again, as a created non-root user: what most people run it as.

Such a user gets forked kernels and one-shot programs through user namespaces, and a cgroup
only where one is delegated to it; the suites check the layers it can have
(`kernels.assert_every_layer_this_user_can_have`) and every escape attempt against them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.unprivileged import can_run_as_user, run_as_user

ROOT = Path(__file__).resolve().parents[3]
SUITES = ["tests/integration/sandbox", "tests/unit/sandbox"]


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
