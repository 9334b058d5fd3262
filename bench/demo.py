"""`make demo` from a fresh clone: how long until it answers, and where the time goes.

Clones the repository's committed HEAD into a temporary folder and runs `make demo` there as a
new user would, with an empty checkpoint cache (so the tiny checkpoint is unpacked too; pip
uses its own cache as it is). Every line of output is stamped with the time since the start;
the phases are read from them: the install (`make`'s setup), the demo's first line, the
engine started, each answer (the run's summary line) and the end.

Run from the repository root: .venv/bin/python -m bench.demo  (about 5 minutes; writes
bench/results/demo.md)
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "demo.md"
TARGET_S = 300.0
"""The demo should answer within 5 minutes of `make demo` on a fresh clone."""


def stamped_run(command: list[str], cwd: Path, env: dict[str, str]) -> list[tuple[float, str]]:
    """Runs `command`, echoing its output, and returns each line with its time since start."""
    started = time.monotonic()
    lines: list[tuple[float, str]] = []
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            elapsed = time.monotonic() - started
            lines.append((elapsed, line.rstrip("\n")))
            print(f"{elapsed:7.1f}  {line}", end="", flush=True)
        code = process.wait()
    lines.append((time.monotonic() - started, f"(exit {code})"))
    if code != 0:
        sys.exit(f"{' '.join(command)} failed with exit code {code}")
    return lines


def first(lines: list[tuple[float, str]], predicate: str, after: float = 0.0) -> float:
    """The time of the first line at or after `after` that contains `predicate`."""
    return next(t for t, line in lines if t >= after and predicate in line)


def main() -> None:
    """Clones, runs `make demo`, writes the phases to bench/results/demo.md."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="demo-clone-") as folder:
        clone, cache = Path(folder) / "harmony-agent", Path(folder) / "cache"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = {**os.environ, "HARMONY_AGENT_CACHE": str(cache), "COLUMNS": "100"}
        load = os.getloadavg()[0]
        lines = stamped_run(["make", "demo"], clone, env)
    installed = first(lines, "bin/harmony-agent demo")
    summaries = [t for t, line in lines if line.startswith("final · ")]
    phases = [
        ("install (`make setup`: venv, pip)", installed),
        ("demo's first line", next(t for t, line in lines if t > installed)),
        ("vLLM started", first(lines, "Starting vLLM", installed)),
        ("first answer", summaries[0]),
        ("second answer", summaries[1]),
        ("end (vLLM stopped)", lines[-1][0]),
    ]
    table = "\n".join(f"| {name} | {seconds:.0f} |" for name, seconds in phases)
    verdict = "within" if summaries[1] <= TARGET_S else "NOT within"
    RESULTS.write_text(
        f"""# `make demo` from a fresh clone

Command: `.venv/bin/python -m bench.demo` (clones commit {commit}, runs `make demo` with an
empty checkpoint cache; pip uses its own cache)
Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f} at the start,
Python {platform.python_version()}

| phase | seconds since `make demo` started |
|---|---:|
{table}

Both answers came {verdict} the 5-minute target ({summaries[1]:.0f} s).
"""
    )
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
