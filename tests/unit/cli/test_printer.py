"""The run printer on records: the same output live (deltas) and replayed (messages only)."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from typing import cast

import pytest
from harmony_agent import Citation, RunFinished, Usage
from harmony_agent._redact import Redactor
from harmony_agent.cli._printer import RunPrinter
from harmony_agent.traces import (
    CitationRecord,
    MessageRecord,
    Record,
    RunFinishedRecord,
    RunStartedRecord,
    TextDeltaRecord,
    ToolCallRecord,
    ToolResultRecord,
    event_record,
    usage_record,
)
from rich.console import Console

from tests.fakes import make_agent

ANSWER = "Paris has 2.1 million people【3†L9-L11】."


def message(text: str, *, author: str = "assistant", channel: str | None = None) -> MessageRecord:
    """A message record as a trace holds it."""
    return {
        "type": "message",
        "author": author,
        "text": text,
        "channel": channel,
        "recipient": None,
        "content_type": None,
    }


def delta(text: str, channel: str) -> TextDeltaRecord:
    """Streamed text, as the CLI shows it live."""
    return {"type": "text_delta", "text": text, "channel": channel, "recipient": None}


def tool_call(recipient: str, arguments: str) -> ToolCallRecord:
    """A call record as a trace holds it."""
    return {
        "type": "tool_call",
        "id": "call-1",
        "recipient": recipient,
        "arguments": arguments,
        "channel": "commentary",
        "content_type": None,
    }


def tool_result(
    recipient: str, output: str, *, error: str | None = None, duration_s: float = 0.0
) -> ToolResultRecord:
    """A tool result record as a trace holds it."""
    return {
        "type": "tool_result",
        "id": "call-1",
        "recipient": recipient,
        "output": output,
        "error": error,
        "traceback": None,
        "files": [],
        "data": {},
        "duration_s": duration_s,
    }


def run_finished(stop_reason: str, citations: list[CitationRecord]) -> RunFinishedRecord:
    """The last record of a run, with no tokens counted."""
    return {
        "type": "run_finished",
        "stop_reason": stop_reason,
        "final_text": "",
        "output": None,
        "usage": usage_record(Usage()),
        "citations": citations,
        "recoveries": 0,
    }


def render(records: Sequence[Record], **options: object) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    printer = RunPrinter(console, **options)  # type: ignore[arg-type]
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
            tool_result("python", "Traceback...", error="exception", duration_s=0.5),
            {"type": "error", "kind": "EngineError", "message": "the server went away"},
        ]
    )
    assert "↺ repaired header_repaired: commentary<|x|>" in output
    assert "← python · 0.50 s · exception" in output
    assert "error: EngineError: the server went away" in output


ATTACKS = {
    "clipboard": "\x1b]52;c;cm0gLXJmIH4K\x07",
    "title": "\x1b]0;pwned\x1b\\",
    "hyperlink": "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "C1 CSI": "\x9b2J",
    "C1 OSC": "\x9d0;pwned\x9c",
    "DCS": "\x1bP+q544e\x1b\\",
    "CSI": "\x1b[2J\x1b[31m",
    "overwrite": "safe\rEVIL\x08\x08",
    "bell": "\x07",
}
"""Control sequences a model, a tool or a web page can write."""
SENT = ("\x1b]", "\x1bP", "\x1b[2J", "\x9b", "\x9d", "\x07", "\r", "\x08", "\x1b\\")
"""What must never reach the terminal (rich's own colour codes are plain SGR sequences)."""


def terminal_render(records: Sequence[Record], **options: object) -> str:
    """What a colour terminal receives (Live included) for `records`."""
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system="truecolor")
    printer = RunPrinter(console, **options)  # type: ignore[arg-type]
    for record in records:
        printer(record)
    printer.close()
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return output


def hostile_records(payload: str) -> list[Record]:
    """A run in which the prompt, the reasoning, a call, its result, a citation, an error and
    the answer all carry `payload`.
    """
    text = f"a{payload}b"
    citation: CitationRecord = {
        "marker": text,
        "url": text,
        "title": text,
        "lines": [1, 2],
        "text": text,
    }
    return [
        # a trace file holds any JSON, a run "number" too
        cast(RunStartedRecord, {"type": "run_started", "run": payload, "prompt": text}),
        message(text, author="user"),
        *(delta(piece, "analysis") for piece in text),
        message(text, channel="analysis"),
        tool_call(f"functions.{payload}", text),
        tool_result(text, text, error=text),
        {"type": "recovery", "kind": payload, "detail": text},
        {"type": "context_trimmed", "kind": payload, "tokens_removed": 1, "detail": text},
        *(delta(piece, "final") for piece in text),
        message(text, channel="final"),
        {"type": "error", "kind": payload, "message": text},
        run_finished(payload, [citation]),
    ]


@pytest.mark.parametrize("payload", list(ATTACKS.values()), ids=list(ATTACKS))
@pytest.mark.parametrize("live", [True, False], ids=["live", "replayed"])
def test_control_sequences_are_shown_never_sent(payload: str, live: bool) -> None:
    records = hostile_records(payload)
    if not live:
        records = [record for record in records if record["type"] != "text_delta"]
    output = terminal_render(records, echo_prompt=True)
    assert not [sent for sent in SENT if sent in output]
    assert output.count("a") >= 9 and "b" in output
    if "\x1b" in payload:
        assert "␛" in output


def test_markup_and_markdown_links_from_the_model_are_not_interpreted() -> None:
    answer = "[bold red]x[/] see [docs](https://evil.example/a)"
    output = render(
        [
            tool_call("functions.[/]", "{}"),
            tool_result("[/]", "[bold]y[/bold]", error="[/]"),
            message(answer, channel="final"),
        ]
    )
    assert "→ functions.[/]" in output and "[bold]y[/bold]" in output
    assert "[bold red]x[/]" in output and "(https://evil.example/a)" in output
    linked = terminal_render([message(answer, channel="final")])
    assert "\x1b]8;" not in linked  # no hidden link target: the URL is shown


def test_secrets_are_hidden_even_when_streamed_in_pieces() -> None:
    secret = "Project Falcon 7"
    text = f"the key is Bearer abc123def456 and {secret} ok. sk-{'x' * 20} done"
    records: list[Record] = []
    for channel in ("analysis", "final"):
        records += [delta(c, channel) for c in text]
        records.append(message(text, channel=channel))
    records.append(tool_result("python", text))
    for console in (render, terminal_render):
        output = console(records, redactor=Redactor([secret]))
        for shown in ("abc123", "Falcon", "xxxxxxxx"):
            assert shown not in output
        assert output.count("[REDACTED]") >= 9
        assert "the key is Bearer" in output and "done" in output
