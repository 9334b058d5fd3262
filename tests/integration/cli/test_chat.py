"""`chat` in a real pseudo-terminal: turns, kept history, Ctrl-C cancelling one turn."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import time
from pathlib import Path

from harmony_agent.traces import read_trace

from tests.console import SCRIPT

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


class Terminal:
    """A child process on a pty; `expect` reads until a pattern shows up."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "TERM": "xterm", "COLUMNS": "100", "LINES": "40"}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.execve(SCRIPT, [SCRIPT, *args], env)
        self.seen = ""

    def expect(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while pattern not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"{pattern!r} never appeared; the screen shows:\n{self.seen[-2000:]}"
                )
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096).decode(errors="replace")
                except OSError:
                    chunk = ""
                if not chunk:
                    raise AssertionError(
                        f"the process ended before {pattern!r}:\n{self.seen[-2000:]}"
                    )
                self.seen += ANSI.sub("", chunk)
        found, self.seen = self.seen, self.seen[self.seen.index(pattern) + len(pattern) :]
        return found

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            try:
                os.read(self.fd, 4096)
            except OSError:
                time.sleep(0.02)
        os.kill(self.pid, 9)
        raise AssertionError("the chat did not exit")


def test_chat_keeps_history_and_ctrl_c_cancels_only_the_turn(tmp_path: Path) -> None:
    slow = (
        "<|channel|>analysis<|message|>"
        + "thinking " * 200
        + "<|end|><|start|>assistant<|channel|>final<|message|>late<|return|>"
    )
    script = {
        "hello": [
            "<|channel|>analysis<|message|>Greet back.<|end|><|start|>assistant<|channel|>final<|message|>Hi there!<|return|>"
        ],
        "slow": [slow],
        "again": ["<|channel|>final<|message|>Still here.<|return|>"],
    }
    config = tmp_path / "chat.yaml"
    trace = tmp_path / "chat.jsonl"
    config.write_text(
        json.dumps(
            {
                "engine": {"kind": "scripted", "script": script, "token_delay_s": 0.02},
                "reasoning": "low",
                "output": {"trace": str(trace)},
            }
        ),
        encoding="utf-8",
    )
    terminal = Terminal("chat", str(config))
    terminal.expect("you>")
    terminal.send("hello\r")
    terminal.expect("Hi there!")
    terminal.expect("you>")
    terminal.send("slow please\r")
    terminal.expect("thinking thinking")
    terminal.send("\x03")
    terminal.expect("turn cancelled")
    terminal.expect("you>")
    terminal.send("again\r")
    terminal.expect("Still here.")
    terminal.expect("you>")
    terminal.send("\x04")
    assert terminal.wait() == 0

    starts = [r for r in read_trace(trace) if r["type"] == "run_started"]
    finished = [r for r in read_trace(trace) if r["type"] == "run_finished"]
    assert [r["prompt"] for r in starts] == ["hello", "slow please", "again"]
    assert [r["stop_reason"] for r in finished] == ["final", "cancelled", "final"]
    assert starts[0]["history_messages"] == 0
    # the cancelled turn is dropped; the first turn's reasoning is pruned: user + final answer
    assert starts[1]["history_messages"] == 2
    assert starts[2]["history_messages"] == 2
