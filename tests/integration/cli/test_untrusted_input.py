"""Hostile inputs through the real console script: configs that would expand without bound,
and terminal control sequences in what the model, its tools and the web write.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import time
from pathlib import Path

import pytest
from harmony_agent.cli import ExitCode

from tests.console import SCRIPT, Cli
from tests.fakes import laughs

GIB = 1 << 30


def test_validate_refuses_a_billion_laughs_in_bounded_memory(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "laughs.yaml"
    config.write_text(laughs(9), encoding="utf-8")  # 10**9 values in a few hundred bytes
    done = cli("validate", config, memory_limit=GIB, timeout=30)
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert f"error: {config}:" in done.stderr
    assert "the aliases repeat more than 10000 values" in done.stderr


def test_validate_refuses_a_recursive_anchor(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "recursive.yaml"
    config.write_text("engine: &engine\n  kind: scripted\n  script: *engine\n", encoding="utf-8")
    done = cli("validate", config)
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert f"error: {config}:3: engine.script: this alias is inside its own anchor" in done.stderr


def test_validate_refuses_deep_nesting(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "deep.yaml"
    config.write_text("tools: " + "[" * 20_000 + "]" * 20_000 + "\n", encoding="utf-8")
    done = cli("validate", config, timeout=30)
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert f"error: {config}:1: invalid YAML: nested deeper than 100 levels" in done.stderr


HOSTILE = (
    "T\x1b]0;pwned\x07 C\x1b]52;c;cm0gLXJmIH4K\x07 "
    "L\x1b]8;;https://evil.example\x1b\\x\x1b]8;;\x1b\\ S\x9b2J O\x9d0;t\x9c D\x1bP+q\x1b\\"
)
"""A window title, a clipboard write, a hyperlink, a C1 CSI and OSC, and a DCS query."""
SENT = ("\x1b]", "\x1bP", "\x9b", "\x9d", "\x9c", "\x07")
"""What must not reach the terminal (rich itself sends only CSI sequences)."""


def hostile_run(tmp_path: Path) -> Path:
    """A config whose model reasons, calls a tool and answers with HOSTILE in each."""
    (tmp_path / "hostile.py").write_text(
        f'def page() -> str:\n    """A web page."""\n    return {HOSTILE!r}\n', encoding="utf-8"
    )
    script = [
        f"<|channel|>analysis<|message|>Think {HOSTILE}<|end|><|start|>assistant"
        "<|channel|>commentary to=functions.page <|constrain|>json<|message|>{}<|call|>",
        f"<|channel|>final<|message|>Answer {HOSTILE} [bold]done[/bold]<|return|>",
    ]
    config = tmp_path / "agent.yaml"
    engine = {"kind": "scripted", "script": script}
    config.write_text(
        json.dumps({"engine": engine, "tools": {"functions": ["hostile:page"]}}), encoding="utf-8"
    )
    return config


def on_a_terminal(*args: str | Path, typed: str = "", timeout: float = 60) -> str:
    """Everything the console script sends to a pseudo-terminal until it exits, `typed`
    typed ahead on its keyboard.
    """
    pid, fd = pty.fork()
    if pid == 0:  # the child
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "40"}
        os.execve(SCRIPT, [SCRIPT, *map(str, args)], env)
    os.write(fd, typed.encode())
    received = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([fd], [], [], deadline - time.monotonic())[0]:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                received += chunk
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    return received.decode("utf-8", errors="replace")


@pytest.mark.parametrize("command", ["run", "chat"])
def test_terminal_sequences_are_shown_instead_of_sent(tmp_path: Path, command: str) -> None:
    config = hostile_run(tmp_path)
    if command == "run":
        output = on_a_terminal("run", config, "Read the page.")
    else:
        output = on_a_terminal("chat", config, typed="Read the page.\n/exit\n")
    assert "Answer" in output and "final · 2 turns" in output
    assert [sent for sent in SENT if sent in output] == []
    assert output.count("␛]52;c;cm0gLXJmIH4K␇") >= 3  # reasoning, tool result, answer
    assert "[bold]done[/bold]" in output


def test_show_and_json_output_carry_no_terminal_sequences(cli: Cli, tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    done = cli("run", hostile_run(tmp_path), "Read the page.", "--trace", trace)
    assert done.returncode == ExitCode.OK, done.stderr
    shown = cli("show", trace)
    assert shown.returncode == ExitCode.OK, shown.stderr
    as_json = cli("run", hostile_run(tmp_path), "Read the page.", "--json")
    for output in (done.stdout, shown.stdout, as_json.stdout):
        assert [sent for sent in SENT if sent in output] == []
        assert "\x1b" not in output
    assert shown.stdout.count("␛]0;pwned␇") >= 3
    assert json.loads(as_json.stdout)["tool_calls"][0]["output"] == HOSTILE


@pytest.mark.parametrize(
    ("record", "missing"),
    [
        ({"type": "run_finished", "stop_reason": "final", "citations": []}, "usage"),
        ({"type": "tool_result", "recipient": "python", "output": "4"}, "error"),
        ({"type": "recovery", "kind": "unknown_tool"}, "detail"),
    ],
)
def test_show_refuses_a_record_without_a_field_a_run_writes(
    cli: Cli, tmp_path: Path, record: dict[str, object], missing: str
) -> None:
    # printed as 0 turns, 0 tokens (or a tool call of 0.00 s, a repair of None) before
    trace = tmp_path / "trace.jsonl"
    trace.write_text(json.dumps(record) + "\n")
    done = cli("show", trace)
    assert done.returncode == ExitCode.USAGE, done.stdout
    kind = record["type"]
    assert f"{trace}: record 1 ({kind!r}) lacks the field {missing!r}" in done.stderr


@pytest.mark.parametrize(
    "record",
    [
        {"type": "run_finished", "citations": "abc"},
        {"type": "run_finished", "usage": "x"},
        {"type": "tool_result", "output": "x", "duration_s": [1]},
        {"type": "run_finished", "citations": [{"lines": 5}]},
    ],
)
def test_show_refuses_a_record_of_the_wrong_shape(
    cli: Cli, tmp_path: Path, record: dict[str, object]
) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text(
        json.dumps({"type": "run_started", "prompt": "hi"}) + "\n" + json.dumps(record)
    )
    done = cli("show", trace)
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert f"{trace}: record 2 (" in done.stderr and "internal error" not in done.stderr
