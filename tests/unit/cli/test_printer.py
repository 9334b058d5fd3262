"""The run printer on records: the same output live (deltas) and replayed (messages only)."""

from __future__ import annotations

import dataclasses
import io

from harmony_agent import Citation, RunFinished
from harmony_agent.cli._printer import RunPrinter
from harmony_agent.traces import Record, event_record
from rich.console import Console

from tests.unit.conftest import make_agent

ANSWER = "Paris has 2.1 million people【3†L9-L11】."


def render(records: list[Record], **options: bool) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    printer = RunPrinter(console, **options)
    for record in records:
        printer(record)
    printer.close()
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return output


def run_records() -> list[Record]:
    agent, _ = make_agent(
        [
            "<|channel|>analysis<|message|>Look it up.<|end|><|start|>assistant<|channel|>commentary"
            ' to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>',
            f"<|channel|>final<|message|>{ANSWER}<|return|>",
        ]
    )
    records: list[Record] = [{"type": "run_started", "prompt": "How many people?"}]
    result = agent.run("How many people?", on_event=lambda e: records.append(event_record(e)))
    cited = Citation(
        "【3†L9-L11】", "https://example.org/paris", "Paris - Example", (9, 11), "2.1 million"
    )
    records[-1] = event_record(RunFinished(dataclasses.replace(result, citations=(cited,))))
    return records


def test_live_and_replayed_runs_show_the_same_story() -> None:
    records = run_records()
    live = render(records)
    replayed = render([r for r in records if r["type"] != "text_delta"])
    for output in (live, replayed):
        assert "Look it up." in output
        assert "→ functions.get_weather" in output
        assert '"temperature":20' in output
        assert ANSWER in output
        assert "[1] Paris - Example https://example.org/paris (lines 9-11)" in output
        assert "final · 2 turns · " in output
    assert live.index("Look it up.") < live.index("→ functions.get_weather") < live.index(ANSWER)


def test_hidden_reasoning_and_echoed_prompt() -> None:
    records = [r for r in run_records() if r["type"] != "text_delta"]
    output = render(records, show_reasoning=False, echo_prompt=True)
    assert "Look it up." not in output
    assert "> How many people?" in output


def test_errors_and_recoveries_are_shown() -> None:
    output = render(
        [
            {"type": "recovery", "kind": "header_repaired", "detail": "commentary<|x|>"},
            {
                "type": "tool_result",
                "recipient": "python",
                "output": "Traceback...",
                "error": "exception",
                "duration_s": 0.5,
            },
            {"type": "error", "kind": "EngineError", "message": "the server went away"},
        ]
    )
    assert "↺ repaired header_repaired: commentary<|x|>" in output
    assert "← python · 0.50 s · exception" in output
    assert "error: EngineError: the server went away" in output
