"""The run printer on records: the same output live (deltas) and replayed (messages only)."""

from __future__ import annotations

import dataclasses
import io

import pytest
from harmony_agent import Citation, RunFinished
from harmony_agent._redact import Redactor
from harmony_agent.cli._printer import RunPrinter
from harmony_agent.traces import Record, event_record
from rich.console import Console

from tests.fakes import make_agent

ANSWER = "Paris has 2.1 million people【3†L9-L11】."


def render(records: list[Record], **options: object) -> str:
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


def terminal_render(records: list[Record], **options: object) -> str:
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
    return [
        {"type": "run_started", "run": payload},
        {"type": "message", "author": "user", "text": text},
        *({"type": "text_delta", "channel": "analysis", "text": piece} for piece in text),
        {"type": "message", "author": "assistant", "channel": "analysis", "text": text},
        {"type": "tool_call", "recipient": f"functions.{payload}", "arguments": text},
        {"type": "tool_result", "recipient": text, "output": text, "error": text},
        {"type": "recovery", "kind": payload, "detail": text},
        {"type": "context_trimmed", "kind": payload, "tokens_removed": 1, "detail": text},
        *({"type": "text_delta", "channel": "final", "text": piece} for piece in text),
        {"type": "message", "author": "assistant", "channel": "final", "text": text},
        {"type": "error", "kind": payload, "message": text},
        {
            "type": "run_finished",
            "stop_reason": payload,
            "citations": [{"title": text, "url": text, "lines": [1, 2]}],
        },
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
            {"type": "tool_call", "recipient": "functions.[/]", "arguments": "{}"},
            {"type": "tool_result", "recipient": "[/]", "output": "[bold]y[/bold]", "error": "[/]"},
            {"type": "message", "author": "assistant", "channel": "final", "text": answer},
        ]
    )
    assert "→ functions.[/]" in output and "[bold]y[/bold]" in output
    assert "[bold red]x[/]" in output and "(https://evil.example/a)" in output
    linked = terminal_render(
        [{"type": "message", "author": "assistant", "channel": "final", "text": answer}]
    )
    assert "\x1b]8;" not in linked  # no hidden link target: the URL is shown


def test_secrets_are_hidden_even_when_streamed_in_pieces() -> None:
    secret = "Project Falcon 7"
    text = f"the key is Bearer abc123def456 and {secret} ok. sk-{'x' * 20} done"
    records: list[Record] = []
    for channel in ("analysis", "final"):
        records += [{"type": "text_delta", "channel": channel, "text": c} for c in text]
        records.append({"type": "message", "author": "assistant", "channel": channel, "text": text})
    records.append({"type": "tool_result", "recipient": "python", "output": text})
    for console in (render, terminal_render):
        output = console(records, redactor=Redactor([secret]))
        for shown in ("abc123", "Falcon", "xxxxxxxx"):
            assert shown not in output
        assert output.count("[REDACTED]") >= 9
        assert "the key is Bearer" in output and "done" in output
