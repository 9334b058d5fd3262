"""The `harmony-agent` console script as a user runs it: in a subprocess, plain text out."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

CONFIGS = Path(__file__).parents[1] / "configs"
"""The example configs the project ships."""

SCRIPT = shutil.which("harmony-agent", path=str(Path(sys.executable).parent)) or "harmony-agent"
"""The console script installed beside this Python."""

Cli = Callable[..., subprocess.CompletedProcess[str]]
"""The type of `run_cli` (and of the `cli` fixture that hands it out)."""


def run_cli(
    *args: str | Path,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
    memory_limit: int | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Runs the console script; output is plain text (no colors, wide lines). `memory_limit`
    caps its address space in bytes, so that a regression fails instead of exhausting memory;
    `env` adds to its environment.
    """
    # on PATH as for a user who runs it: its folder first, with the scripts installed beside
    # it (the example MCP config starts `mcp-server-time`)
    path = f"{Path(SCRIPT).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    plain = {"PATH": path, "NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}

    def limit_memory() -> None:
        if memory_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    return subprocess.run(
        [SCRIPT, *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **plain, **(env or {})},
        timeout=timeout,
        check=False,
        preexec_fn=limit_memory,
    )


def without_module(name: str, folder: Path) -> dict[str, str]:
    """The environment under which the console script cannot import the module `name` (as
    where an optional extra is not installed): a stub in `folder` raises ImportError.
    """
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text(f"raise ImportError('No module named {name}')\n")
    return {"PYTHONPATH": str(folder)}
