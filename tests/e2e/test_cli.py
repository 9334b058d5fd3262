"""The console script on the tiny checkpoint through real vLLM: demo, selftest, a YAML run, a
batch.

Each command starts its own engine in its own process; the session's `tiny` fixture has
built the checkpoint they load.
"""

from __future__ import annotations

import json
from pathlib import Path

from harmony_agent.cli import ExitCode
from harmony_agent.tiny import TinyCheckpoint
from harmony_agent.tiny._selftest import pick_tasks
from harmony_agent.tiny._tasks import ProductTask

from tests.console import CONFIGS, run_cli

TIMEOUT_S = 300


def test_demo_runs_the_tiny_checkpoint_with_a_banner(tiny: TinyCheckpoint) -> None:
    done = run_cli("demo", timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert "running the tiny gpt-oss checkpoint" in done.stdout
    for task in pick_tasks(tiny):
        assert task.question in done.stdout
        assert task.expected_answer() in done.stdout
    # the long steps show progress; what vLLM, torch and their processes print does not show
    assert "Starting vLLM" in done.stdout
    assert "Stopping vLLM" in done.stdout
    assert done.stderr == ""
    for noise in ("Triton", "Warning", "WARNING", "INFO", "NUMA", "safetensors"):
        assert noise not in done.stdout


def test_selftest_passes(tiny: TinyCheckpoint) -> None:
    done = run_cli("selftest", timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert "selftest passed" in done.stdout
    assert "functions.get_weather" in done.stdout
    assert "python" in done.stdout


def test_the_tiny_config_runs_from_yaml(tiny: TinyCheckpoint) -> None:
    _, product = pick_tasks(tiny)
    done = run_cli("run", CONFIGS / "tiny-cpu.yaml", product.question, "--json", timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert "running the tiny gpt-oss checkpoint" in done.stderr
    (line,) = done.stdout.splitlines()  # nothing else on stdout: no engine logs
    result = json.loads(line)
    assert result["final_text"] == product.expected_answer()
    (call,) = result["tool_calls"]
    assert call["recipient"] == "python"
    assert call["output"] == str(product.a * product.b)


def test_a_batch_runs_on_the_tiny_checkpoint(tiny: TinyCheckpoint, tmp_path: Path) -> None:
    products = [t for t in tiny.verified if isinstance(t, ProductTask)][:3]
    checks = [
        {"answer": products[0].expected_answer()},
        {"regex": rf"\b{products[1].a * products[1].b}\b"},
        {"answer": "The answer is 0."},  # wrong on purpose: the check must fail the task
    ]
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        "".join(
            json.dumps({"id": f"p{i}", "prompt": t.question, "check": c}) + "\n"
            for i, (t, c) in enumerate(zip(products, checks, strict=True))
        )
    )
    output = tmp_path / "results.jsonl"

    done = run_cli(
        "batch", CONFIGS / "tiny-cpu.yaml", tasks, "-o", output, "-c", "3", timeout=TIMEOUT_S
    )

    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    saved = {r["id"]: r for r in map(json.loads, output.read_text().splitlines())}
    assert {i: r["status"] for i, r in saved.items()} == {
        "p0": "passed",
        "p1": "passed",
        "p2": "failed",
    }
    assert saved["p2"]["answer"] == products[2].expected_answer()
