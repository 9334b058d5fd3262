"""`run`, `show`, `validate` and `schema` through the real console script."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time
from pathlib import Path

from harmony_agent.cli import ExitCode
from harmony_agent.traces import read_trace

from tests.console import CONFIGS, SCRIPT, Cli

DEMO = CONFIGS / "scripted-demo.yaml"


def scripted(tmp_path: Path, script: list[str], extra: str = "") -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(
        f"engine:\n  kind: scripted\n  script: {json.dumps(script)}\nreasoning: low\n{textwrap.dedent(extra)}",
        encoding="utf-8",
    )
    return path


def test_run_streams_reasoning_calls_answer_and_summary(cli: Cli, tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    done = cli("run", DEMO, "What's the weather in Paris?", "--trace", trace)
    assert done.returncode == ExitCode.OK, done.stderr
    out = done.stdout
    assert "The user wants the weather in Paris. I will call" in out
    assert "→ functions.get_weather" in out and '{"city": "Paris"}' in out
    assert "← functions.get_weather" in out and '"temperature":21' in out
    assert "It is 21 °C in Paris right now." in out
    assert "final · 2 turns · " in out and "1 tool call" in out
    assert (
        out.index("I will call") < out.index("→ functions.get_weather") < out.index("It is 21 °C")
    )

    shown = cli("show", trace)
    assert shown.returncode == ExitCode.OK, shown.stderr
    for line in (
        "> What's the weather in Paris?",
        "→ functions.get_weather",
        "It is 21 °C in Paris right now.",
        "final · 2 turns",
    ):
        assert line in shown.stdout
    hidden = cli("show", trace, "--hide-reasoning")
    assert "I will call" not in hidden.stdout and "It is 21 °C" in hidden.stdout


def test_run_reads_the_prompt_from_stdin_and_hides_reasoning(cli: Cli) -> None:
    done = cli("run", DEMO, "-", "--hide-reasoning", stdin="What's the weather in Paris?\n")
    assert done.returncode == ExitCode.OK, done.stderr
    assert "I will call" not in done.stdout
    assert "It is 21 °C in Paris right now." in done.stdout


def test_run_json(cli: Cli) -> None:
    done = cli("run", DEMO, "What's the weather in Paris?", "--json")
    assert done.returncode == ExitCode.OK, done.stderr
    result = json.loads(done.stdout)
    assert result["final_text"] == "It is **21 °C** in Paris right now."
    assert result["stop_reason"] == "final"
    assert result["usage"]["turns"] == 2
    assert result["tool_calls"][0]["recipient"] == "functions.get_weather"
    assert result["tool_calls"][0]["arguments"] == '{"city": "Paris"}'


def test_run_that_hits_a_limit_exits_1(cli: Cli, tmp_path: Path) -> None:
    call = "<|channel|>commentary to=functions.nope <|constrain|>json<|message|>{}<|call|>"
    done = cli("run", scripted(tmp_path, [call], "limits: {max_turns: 1}\n"), "hi")
    assert done.returncode == ExitCode.INCOMPLETE
    assert "max_turns · 1 turn" in done.stdout


def test_engine_failure_exits_3_without_traceback(cli: Cli, tmp_path: Path) -> None:
    done = cli("run", scripted(tmp_path, []), "hi")
    assert done.returncode == ExitCode.ENGINE
    assert "engine error: the script got generate call 1 but holds 0 completions" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_config_errors_exit_2_and_debug_shows_the_traceback(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("engine:\n  kind: scripted\n  script: []\nlimits:\n  timeout: ten\n")
    done = cli("run", path, "hi")
    assert done.returncode == ExitCode.USAGE
    assert f"error: {path}:5: limits.timeout: input should be a valid number" in done.stderr
    assert "Traceback" not in done.stderr
    debug = cli("--debug", "run", path, "hi")
    assert debug.returncode == ExitCode.USAGE
    assert "Traceback" in debug.stderr


def test_empty_prompt_and_missing_trace_are_usage_errors(cli: Cli, tmp_path: Path) -> None:
    assert cli("run", DEMO, "-", stdin="").returncode == ExitCode.USAGE
    missing = cli("show", tmp_path / "none.jsonl")
    assert missing.returncode == ExitCode.USAGE
    assert "no such file" in missing.stderr


def test_validate_every_example_and_a_bad_config(cli: Cli, tmp_path: Path) -> None:
    examples = sorted(CONFIGS.glob("*.yaml"))
    done = cli("validate", *examples)
    assert done.returncode == ExitCode.OK, done.stderr
    assert done.stdout.count("ok ") == len(examples)
    bad = tmp_path / "bad.yaml"
    bad.write_text("engine:\n  kind: scripted\n  script: []\nreasonin: low\n")
    done = cli("validate", DEMO, bad)
    assert done.returncode == ExitCode.USAGE
    assert f"ok {DEMO}" in done.stdout
    assert (
        f"error: {bad}:4: reasonin: unknown key 'reasonin'; did you mean 'reasoning'?"
        in done.stderr
    )


def test_schema(cli: Cli, tmp_path: Path) -> None:
    done = cli("schema")
    assert done.returncode == ExitCode.OK
    schema = json.loads(done.stdout)
    assert schema["title"] == "AgentConfig"
    assert cli("schema", "-o", tmp_path / "s.json").returncode == ExitCode.OK
    assert json.loads((tmp_path / "s.json").read_text()) == schema


def test_ctrl_c_stops_the_run_with_exit_130_and_a_complete_trace(tmp_path: Path) -> None:
    slow = (
        "<|channel|>analysis<|message|>"
        + "thinking " * 300
        + "<|end|><|start|>assistant<|channel|>final<|message|>late<|return|>"
    )
    trace = tmp_path / "trace.jsonl"
    config = tmp_path / "slow.yaml"
    engine = {"kind": "scripted", "script": [slow], "token_delay_s": 0.02}
    config.write_text(json.dumps({"engine": engine, "output": {"trace": str(trace)}}))
    process = subprocess.Popen(
        [SCRIPT, "run", str(config), "hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
        trace.exists() and '"author": "user"' in trace.read_text()
    ):
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == ExitCode.INTERRUPTED, err
    assert "thinking thinking" in out
    assert "cancelled · " in out
    assert "Traceback" not in err
    last = list(read_trace(trace))[-1]
    assert last["type"] == "run_finished" and last["stop_reason"] == "cancelled"
