"""`batch` through the real console script: checks, bad lines, resume, and kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from harmony_agent.cli import ExitCode

from tests.console import SCRIPT, Cli
from tests.fakes import final

TASKS = 24
KINDS = ("pass", "pass", "fail", "pass", "limit", "engine", "fail", "pass")
"""Every 8 tasks: 4 pass, 2 fail their check, 1 hits max_turns, 1 runs out of script."""
TOOL = '''
from pathlib import Path

from harmony_agent import tool


@tool
def record(task: str) -> str:
    """Records that a task ran.

    Args:
        task: The task id.
    """
    with (Path(__file__).parent / "calls.log").open("a") as log:
        log.write(task + "\\n")
    return "recorded"
'''


def call(task: str) -> str:
    return (
        "<|channel|>analysis<|message|>Record it first.<|end|><|start|>assistant<|channel|>"
        f'commentary to=functions.record <|constrain|>json<|message|>{{"task": "{task}"}}<|call|>'
    )


def make_batch(tmp_path: Path, token_delay: float) -> tuple[Path, Path, dict[str, str]]:
    """24 tasks: 12 pass (answer or regex), 6 fail, 3 hit max_turns, 3 engine errors; plus a bad line."""
    (tmp_path / "batch_tools.py").write_text(TOOL, encoding="utf-8")
    script: dict[str, list[str]] = {}
    lines: list[str] = []
    expected: dict[str, str] = {}
    for number in range(TASKS):
        task = f"task-{number:02d}"
        kind = KINDS[number % len(KINDS)]
        answer = str(number * 2)
        if kind == "limit":
            script[task] = [call(task)] * 4
        elif kind == "engine":
            script[task] = [call(task)]
        else:
            script[task] = [call(task), final(answer if kind == "pass" else "no idea")]
        check = {"regex": rf"^{answer}$"} if number % 2 else {"answer": answer}
        lines.append(
            json.dumps({"id": task, "prompt": f"{task}: what is {number} times 2?", "check": check})
        )
        expected[task] = {"pass": "passed", "fail": "failed", "limit": "error", "engine": "error"}[
            kind
        ]
    lines.insert(5, '{"id": "broken", "prompt": ')
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "agent.yaml"
    engine = {"kind": "scripted", "script": script, "token_delay_s": token_delay}
    config.write_text(
        json.dumps(
            {
                "engine": engine,
                "reasoning": "low",
                "limits": {"max_turns": 3},
                "tools": {"functions": ["batch_tools:record"]},
            }
        ),
        encoding="utf-8",
    )
    return config, tasks, expected


def results(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_batch_checks_counts_and_resumes(cli: Cli, tmp_path: Path) -> None:
    config, tasks, expected = make_batch(tmp_path, token_delay=0)
    output = tmp_path / "out" / "results.jsonl"
    done = cli(
        "batch", config, tasks, "-o", output, "--concurrency", "4", "--traces", tmp_path / "traces"
    )
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    assert f"invalid task: {tasks}:6: not valid JSON" in done.stderr
    saved = results(output)
    assert {r["id"]: r["status"] for r in saved} == expected
    assert len(saved) == TASKS
    errors = {r["id"]: r["error_kind"] for r in saved if r["status"] == "error"}
    assert sorted(set(errors.values())) == ["ScriptExhausted", "max_turns"]
    out = " ".join(done.stdout.split())
    passed = sum(1 for s in expected.values() if s == "passed")
    assert f"pass rate │ {passed / TASKS:.1%} ({passed}/{TASKS})" in out
    assert "24 run, 0 skipped, 1 invalid lines" in out
    assert "ScriptExhausted: 3" in out and "max_turns: 3" in out
    assert len(list((tmp_path / "traces").glob("task-*.jsonl"))) == TASKS

    again = cli("batch", config, tasks, "-o", output)
    assert "24 tasks already in" in again.stdout
    assert "0 run, 24 skipped" in " ".join(again.stdout.split())
    assert len(results(output)) == TASKS


def test_kill_9_mid_batch_loses_nothing_and_runs_nothing_twice(cli: Cli, tmp_path: Path) -> None:
    config, tasks, expected = make_batch(tmp_path, token_delay=0.01)
    output = tmp_path / "results.jsonl"
    env = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [SCRIPT, "batch", str(config), str(tasks), "-o", str(output), "-c", "4"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
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
    assert 6 <= len(before) < TASKS, "kill the batch while it runs"
    calls_before = (tmp_path / "calls.log").read_text().splitlines()

    done = cli("batch", config, tasks, "-o", output, "-c", "4")
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    saved = results(output)
    ids = [r["id"] for r in saved]
    assert sorted(ids) == sorted(expected), "every task exactly once"
    assert {r["id"]: r["status"] for r in saved} == expected
    calls = (tmp_path / "calls.log").read_text().splitlines()
    resumed = calls[len(calls_before) :]
    assert not before & set(resumed), "a finished task ran again"
    assert set(resumed) == set(expected) - before, "every unfinished task ran on resume"


def test_missing_tasks_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    config, _, _ = make_batch(tmp_path, token_delay=0)
    done = cli("batch", config, tmp_path / "none.jsonl", "-o", tmp_path / "r.jsonl")
    assert done.returncode == ExitCode.USAGE
    assert (
        f"error: {tmp_path / 'none.jsonl'}: cannot read the tasks file: No such file or directory"
        in " ".join(done.stderr.split())
    )


def test_batch_python_checks_and_task_files(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("x\n1\n2\n3\n", encoding="utf-8")
    code = (
        "import csv\nrows = list(csv.DictReader(open('data.csv')))\n"
        "mean = sum(int(r['x']) for r in rows) / len(rows)\n"
        "open('mean.txt', 'w').write(str(mean))\nmean"
    )
    script = {
        key: [
            f"<|channel|>analysis to=python code<|message|>{code}<|call|>",
            final("The mean is 2.0."),
        ]
        for key in ("mean-a", "mean-b", "mean-c")
    }
    config = tmp_path / "agent.yaml"
    config.write_text(
        json.dumps(
            {
                "engine": {"kind": "scripted", "script": script},
                "reasoning": "low",
                "tools": {"python": {"cell_timeout_s": 30}},
            }
        ),
        encoding="utf-8",
    )
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        json.dumps(
            {
                "id": "a",
                "prompt": "mean-a of data.csv",
                "files": ["data.csv"],
                "check": {
                    "regex": "2\\.0",
                    "python": "assert float(open('mean.txt').read()) == 2.0",
                },
            }
        )
        + "\n"
        + json.dumps(
            {
                "id": "b",
                "prompt": "mean-b of data.csv",
                "files": ["data.csv"],
                "check": {
                    "python": "mean = float(open('mean.txt').read())\n"
                    "assert mean == 3.0, f'mean is {mean}'"
                },
            }
        )
        + "\n"
        + json.dumps(
            {
                "id": "c",
                "prompt": "mean-c of data.csv",
                "files": ["data.csv"],
                "check": {"python": "assert mean == 2.0"},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    output = tmp_path / "results.jsonl"
    done = cli("batch", config, tasks, "-o", output, "-c", "3")
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    saved = {r["id"]: r for r in results(output)}
    assert saved["a"]["status"] == "passed"
    assert saved["b"]["status"] == "failed"
    assert "mean is 2.0" in saved["b"]["check_output"]
    assert saved["c"]["status"] == "failed", "a check never sees the model's variables"
    assert "NameError: name 'mean' is not defined" in saved["c"]["check_output"]
    assert "pass rate │ 33.3% (1/3)" in " ".join(done.stdout.split())
