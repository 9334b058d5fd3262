"""`exec` through the real console script: statuses, bad lines, summary, resume, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from harmony_agent.cli import ExitCode

from tests.console import SCRIPT, Cli

PROGRAMS: list[dict[str, Any]] = [
    {"id": "echo", "code": "print(input() * 2)", "stdin": "ab\n"},
    {"id": "exit-2", "code": "import sys\nsys.exit(2)"},
    {"id": "loop", "code": "while True:\n    pass", "timeout_s": 0.5},
    {
        "id": "humaneval",
        "prompt": "def inc(x):\n",
        "completion": "    return x + 1\n",
        "test": "def check(candidate):\n    assert candidate(1) == 2\n",
        "entry_point": "inc",
    },
    {"id": "files", "code": "print(open('data/x').read())", "files": {"data/x": "file!"}},
    {"id": "outside", "code": "pass", "files": {"../x": "no"}},
    {"id": 7, "code": "import os\nprint(os.getuid())"},
]
EXPECTED = {
    "echo": ("passed", 0, "abab\n"),
    "exit-2": ("failed", 2, ""),
    "loop": ("timed_out", None, ""),
    "humaneval": ("passed", 0, ""),
    "files": ("passed", 0, "file!\n"),
    "outside": ("error", None, ""),
    "7": ("passed", 0, "65534\n"),
}
BAD_LINES = [
    "not json",
    json.dumps({"id": "both", "code": "pass", "completion": "x", "test": "y"}),
    json.dumps({"id": "neither", "stdin": "x"}),
    json.dumps({"id": "echo", "code": "print('a second echo')"}),
]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_exec_runs_counts_and_resumes(cli: Cli, tmp_path: Path) -> None:
    programs = write_lines(tmp_path / "programs.jsonl", [json.dumps(p) for p in PROGRAMS])
    with programs.open("a") as file:
        file.write("\n".join(BAD_LINES) + "\n")
    output = tmp_path / "out" / "results.jsonl"
    done = cli("exec", programs, "-o", output, "--timeout", "5")
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    saved = results(output)
    assert {r["id"]: (r["status"], r["exit_code"], r["stdout"]) for r in saved} == EXPECTED
    (outside,) = [r for r in saved if r["id"] == "outside"]
    assert "not a relative path inside the working directory" in outside["error"]
    for record in saved:
        if record["status"] in ("passed", "failed"):
            assert record["cpu_s"] > 0 and record["peak_memory_bytes"] > 0
    errors = " ".join(done.stderr.split())
    assert f"invalid program: {programs}:8: not valid JSON" in errors
    assert (
        f"{programs}:9: task: Value error, give either `code` or `completion` with `test`" in errors
    )
    assert f"{programs}:10: task: Value error, give either" in errors
    assert f"{programs}:11: id 'echo' is already used on line 1" in errors
    out = " ".join(done.stdout.split())
    assert "7 run, 0 skipped, 4 invalid lines" in out
    assert "error: 1, failed: 1, passed: 4, timed_out: 1" in out
    assert "CPU per program" in out and "peak memory max" in out

    again = cli("exec", programs, "-o", output)
    assert "7 programs already in" in again.stdout
    assert "0 run, 7 skipped" in " ".join(again.stdout.split())
    assert len(results(output)) == len(PROGRAMS)


def test_exec_exits_0_when_every_program_passes(cli: Cli, tmp_path: Path) -> None:
    programs = write_lines(
        tmp_path / "programs.jsonl",
        [json.dumps({"id": n, "code": f"assert {n} + 1 == {n + 1}"}) for n in range(5)],
    )
    done = cli("exec", programs, "-o", tmp_path / "results.jsonl")
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert "passed: 5" in done.stdout


def test_kill_9_mid_exec_loses_nothing_and_runs_nothing_twice(cli: Cli, tmp_path: Path) -> None:
    count = 40
    programs = write_lines(
        tmp_path / "programs.jsonl",
        [json.dumps({"id": n, "code": "import time\ntime.sleep(0.1)"}) for n in range(count)],
    )
    output = tmp_path / "results.jsonl"
    process = subprocess.Popen(
        [SCRIPT, "exec", str(programs), "-o", str(output), "-c", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if output.exists() and len(output.read_text().splitlines()) >= 6:
                break
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    before = {r["id"] for r in results(output)}
    assert 6 <= len(before) < count, "kill exec while it runs"

    done = cli("exec", programs, "-o", output, "-c", "2")
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert f"{len(before)} programs already in" in done.stdout
    ids = [r["id"] for r in results(output)]
    assert sorted(ids, key=int) == [str(n) for n in range(count)], "every program exactly once"


def test_missing_programs_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    done = cli("exec", tmp_path / "none.jsonl", "-o", tmp_path / "r.jsonl")
    assert done.returncode == ExitCode.USAGE
    assert "cannot read the programs file: No such file or directory" in " ".join(
        done.stderr.split()
    )
