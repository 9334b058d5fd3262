"""The console script on the tiny checkpoint through real vLLM: demo, selftest, a YAML run.

Each command starts its own engine in its own process; the session's `tiny` fixture has
built the checkpoint they load.
"""

from __future__ import annotations

import json

from harmony_agent.tiny import TinyCheckpoint, pick_tasks

from tests.integration.cli.conftest import CONFIGS, run_cli

TIMEOUT_S = 300


def test_demo_runs_the_tiny_checkpoint_with_a_banner(tiny: TinyCheckpoint) -> None:
    done = run_cli("demo", timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert "Running the tiny gpt-oss checkpoint" in done.stdout
    for task in pick_tasks(tiny):
        assert task.question in done.stdout
        assert task.expected_answer() in done.stdout


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
