"""A real run traced to a file, read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harmony_agent import Agent, tool
from harmony_agent.engines import ScriptedEngine
from harmony_agent.traces import REDACTED, TraceWriter, read_trace

SECRET = "tok-9f8e7d6c5b4a"


@tool
def lookup(key: str) -> str:
    """Looks a key up.

    Args:
        key: The key.
    """
    return f"value of {key} is {SECRET}"


def test_trace_records_a_run_with_secrets_redacted(tmp_path: Path) -> None:
    engine = ScriptedEngine(
        [
            "<|channel|>analysis<|message|>Look it up.<|end|><|start|>assistant<|channel|>commentary "
            f'to=functions.lookup <|constrain|>json<|message|>{{"key": "{SECRET}"}}<|call|>',
            "<|channel|>commentary to=functions.nope <|constrain|>json<|message|>{}<|call|>",
            "<|channel|>final<|message|>Found it.<|return|>",
        ]
    )
    agent = Agent(engine=engine, tools=[lookup], reasoning="low", current_date="2026-01-01")
    path = tmp_path / "traces" / "run.jsonl"
    with TraceWriter(path, secrets=[SECRET]) as trace:
        trace.start("find it", engine="scripted")
        agent.run("find it", on_event=trace)
    assert SECRET not in path.read_text()
    records = list(read_trace(path))
    types = [r["type"] for r in records]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert "text_delta" not in types
    assert {"message", "tool_call", "tool_result", "generation", "recovery"} <= set(types)
    assert all({"ts", "elapsed_s", "run"} <= set(r) for r in records)
    call = next(r for r in records if r["type"] == "tool_call")
    assert call["arguments"] == f'{{"key": "{REDACTED}"}}'
    result = next(r for r in records if r["type"] == "tool_result")
    assert result["output"] == f"value of {REDACTED} is {REDACTED}"
    unknown = [r for r in records if r["type"] == "tool_result"][1]
    assert unknown["error"] == "unknown_tool"
    finished = records[-1]
    assert finished["type"] == "run_finished"
    assert finished["final_text"] == "Found it."
    assert finished["stop_reason"] == "final"
    assert finished["usage"]["turns"] == 3
    assert finished["usage"]["total_tokens"] > 0


def test_read_trace_names_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"type": "run_started"}) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"t.jsonl:2: not a JSON line"):
        list(read_trace(path))
