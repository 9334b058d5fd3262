"""Renders a run for a person: reasoning dimmed, tool calls in panels, the answer as markdown.

It reads trace records, so a live run (events turned into records) and a saved trace (`show`)
look the same. Everything in a record came from the model, a tool, the web or a trace file:
it is printed as text (never read as rich markup; markdown links show their URL), with its
control characters shown instead of sent to the terminal and its secrets hidden, streamed
text included.
"""

from __future__ import annotations

import time
from typing import assert_type

from harmony_agent._redact import Redactor
from harmony_agent.cli._terminal import printable
from harmony_agent.traces import (
    ContextTrimmedRecord,
    ErrorRecord,
    GenerationRecord,
    MessageRecord,
    Record,
    RecoveryRecord,
    RunFinishedRecord,
    RunStartedRecord,
    TextDeltaRecord,
    ToolCallRecord,
    ToolResultRecord,
)
from rich.console import Console, Group
from rich.live import Live
from rich.markdown import Markdown
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text

__all__ = ["RunPrinter", "summary_line"]

_RESULT_LINES = 20
"""Lines of a tool result shown in its panel."""


def summary_line(record: RunFinishedRecord, elapsed_s: float | None) -> str:
    """`final · 2 turns · 1,234 tokens (1,100 prompt + 134 generated) · 1 tool call · 0.4 s`."""
    usage = record["usage"]
    turns, calls = usage["turns"], usage["tool_calls"]
    parts = [
        str(record["stop_reason"]),
        f"{turns} turn{'s' if turns != 1 else ''}",
        f"{usage['total_tokens']:,} tokens ({usage['prompt_tokens']:,} prompt + "
        f"{usage['completion_tokens']:,} generated)",
        f"{calls} tool call{'s' if calls != 1 else ''}",
    ]
    if elapsed_s is not None:
        parts.append(f"{elapsed_s:.2f} s" if elapsed_s < 10 else f"{elapsed_s:.1f} s")
    return " · ".join(parts)


class RunPrinter:
    """Prints records as they come. `echo_prompt` shows the user's messages (for `show`);
    `redactor` hides secrets (by default, strings shaped like API keys).

    A record without a field its `type` has raises KeyError, one with a field of another
    type TypeError or ValueError (a trace file is read as it is).
    """

    def __init__(
        self,
        console: Console,
        *,
        show_reasoning: bool = True,
        echo_prompt: bool = False,
        redactor: Redactor | None = None,
    ) -> None:
        self._console = console
        self._show_reasoning = show_reasoning
        self._echo_prompt = echo_prompt
        self._redactor = redactor or Redactor()
        self._stream = self._redactor.stream()
        self._streamed: str | None = None
        self._final = ""
        self._live: Live | None = None
        self._started = time.monotonic()

    def __call__(self, record: Record) -> None:
        # each test narrows `record` to its kind, so a handler reads only fields it has
        if record["type"] == "run_started":
            self._on_run_started(record)
        elif record["type"] == "text_delta":
            self._on_text_delta(record)
        elif record["type"] == "message":
            self._on_message(record)
        elif record["type"] == "tool_call":
            self._on_tool_call(record)
        elif record["type"] == "tool_result":
            self._on_tool_result(record)
        elif record["type"] == "recovery":
            self._on_recovery(record)
        elif record["type"] == "context_trimmed":
            self._on_context_trimmed(record)
        elif record["type"] == "error":
            self._on_error(record)
        elif record["type"] == "run_finished":
            self._on_run_finished(record)
        else:  # shows nothing; a kind added to `Record` without a branch here fails the check
            assert_type(record, GenerationRecord)

    def close(self) -> None:
        """Stops a live answer that is still showing (a run cut off mid-answer)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _shown(self, value: object) -> str:
        """`value` as text to print: its secrets hidden, its control characters shown."""
        return printable(self._redactor.text(str(value)))

    def _on_run_started(self, record: RunStartedRecord) -> None:
        self._started = time.monotonic()
        if self._echo_prompt:
            title = self._shown(f"run {record.get('run', '')}".strip())
            self._console.rule(Text(title), style="dim")

    def _on_text_delta(self, record: TextDeltaRecord) -> None:
        channel, text = record["channel"], str(record["text"])
        if record["recipient"] is not None:
            return
        if channel == "analysis" and not self._show_reasoning:
            return
        if self._streamed is not None and self._streamed != channel:
            self._end_stream()
        self._streamed = channel
        shown = printable(self._stream.feed(text))
        if channel == "final":
            self._final += shown
            if self._console.is_terminal:
                if self._live is None:
                    self._live = Live(console=self._console, refresh_per_second=12)
                    self._live.start()
                self._live.update(_markdown(self._final))
            return
        self._console.print(Text(shown, style=_style(channel)), end="")

    def _end_stream(self) -> None:
        """Prints what the stream held back, and ends its line."""
        held = printable(self._stream.flush())
        if self._streamed != "final":
            self._console.print(Text(held, style=_style(self._streamed)))
        self._streamed = None

    def _on_message(self, record: MessageRecord) -> None:
        streamed = self._streamed
        if streamed is not None:
            self._end_stream()
        author, channel = record["author"], record["channel"]
        text = self._shown(record["text"])
        if author == "user":
            if self._echo_prompt and record["text"] != "":
                self._console.print(Text(f"> {text}", style="bold"))
            return
        if author != "assistant" or record["recipient"] is not None:
            return
        if channel == "final":
            self._final = ""
            if self._live is not None:
                self._live.update(_markdown(text))
                self.close()
            else:
                self._console.print(_markdown(text))
        elif streamed is None and (channel != "analysis" or self._show_reasoning):
            self._console.print(Text(text, style=_style(channel)))

    def _on_tool_call(self, record: ToolCallRecord) -> None:
        arguments = self._shown(record["arguments"])
        recipient = str(record["recipient"])
        language = "python" if recipient == "python" else "json"
        body = Syntax(arguments.strip() or "{}", language, word_wrap=True, theme="ansi_dark")
        title = Text(f"→ {self._shown(recipient)}")
        self._console.print(Panel(body, title=title, title_align="left", border_style="blue"))

    def _on_tool_result(self, record: ToolResultRecord) -> None:
        lines = self._shown(record["output"]).splitlines()
        shown = "\n".join(lines[:_RESULT_LINES])
        if len(lines) > _RESULT_LINES:
            shown += f"\n… {len(lines) - _RESULT_LINES} more lines"
        error = record["error"]
        title = f"← {record['recipient']} · {float(record['duration_s']):.2f} s"
        if error:
            title += f" · {error}"
        self._console.print(
            Panel(
                Text(shown),
                title=Text(self._shown(title)),
                title_align="left",
                border_style="red" if error else "green",
            )
        )

    def _on_recovery(self, record: RecoveryRecord) -> None:
        line = f"↺ repaired {record['kind']}: {record['detail']}"
        self._console.print(Text(self._shown(line), style="yellow dim"))

    def _on_context_trimmed(self, record: ContextTrimmedRecord) -> None:
        line = f"✂ {record['kind']}: {record['tokens_removed']} tokens ({record['detail']})"
        self._console.print(Text(self._shown(line), style="yellow dim"))

    def _on_error(self, record: ErrorRecord) -> None:
        self.close()
        line = f"error: {record['kind']}: {record['message']}"
        self._console.print(Text(self._shown(line), style="bold red"))

    def _on_run_finished(self, record: RunFinishedRecord) -> None:
        self.close()
        citations = record["citations"]
        if citations:
            notes = [
                Text.assemble(
                    (f"[{number}] ", "bold"),
                    f"{self._shown(c['title'] or c['url'])} ",
                    (self._shown(c["url"]), "underline blue"),
                    (f" (lines {c['lines'][0]}-{c['lines'][1]})", "dim"),
                )
                for number, c in enumerate(citations, start=1)
            ]
            self._console.print(Group(*notes))
        elapsed = record.get("elapsed_s")
        if elapsed is None:
            elapsed = time.monotonic() - self._started
        ok = record["stop_reason"] == "final"
        line = self._shown(summary_line(record, float(elapsed)))
        self._console.print(Text(line, style="dim" if ok else "yellow"))


def _style(channel: object) -> str:
    """How text streamed on `channel` (other than the final answer) looks."""
    return "dim italic" if channel == "analysis" else "cyan"


def _markdown(text: str) -> Markdown:
    """The final answer as markdown, its links shown with their URL (never as terminal links
    whose target the reader cannot see).
    """
    return Markdown(text, hyperlinks=False)
