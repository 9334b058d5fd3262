"""Runs the real `harmony-agent` console script in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

CONFIGS = Path(__file__).parents[3] / "configs"
SCRIPT = shutil.which("harmony-agent", path=str(Path(sys.executable).parent)) or "harmony-agent"

Cli = Callable[..., subprocess.CompletedProcess[str]]


def run_cli(
    *args: str | Path, stdin: str | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Runs the console script; output is plain text (no colors, wide lines)."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}
    return subprocess.run(
        [SCRIPT, *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli() -> Cli:
    return run_cli
