"""Renders a run for a person: reasoning dimmed, tool calls in panels, the answer as markdown.

It reads trace records, so a live run (events turned into records) and a saved trace (`show`)
look the same. Everything in a record came from the model, a tool, the web or a trace file:
it is printed as text (never read as rich markup; markdown links show their URL), with its
control characters shown instead of sent to the terminal and its secrets hidden, streamed
text included.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harmony_agent._redact import Redactor
from harmony_agent.cli._terminal import printable
from harmony_agent.traces import Record
from rich.console import Console, Group
from rich.live import Live
from rich.markdown import Markdown
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text

__all__ = ["RunPrinter", "summary_line"]

_RESULT_LINES = 20
"""Lines of a tool result shown in its panel."""


def summary_line(record: Record, elapsed_s: float | None) -> str:
    """`final · 2 turns · 1,234 tokens (1,100 prompt + 134 generated) · 1 tool call · 0.4 s`."""
    usage = record.get("usage", {})
    calls = usage.get("tool_calls", 0)
    parts = [
        str(record.get("stop_reason", "?")),
        f"{usage.get('turns', 0)} turn{'s' if usage.get('turns', 0) != 1 else ''}",
        f"{usage.get('total_tokens', 0):,} tokens ({usage.get('prompt_tokens', 0):,} prompt + "
        f"{usage.get('completion_tokens', 0):,} generated)",
        f"{calls} tool call{'s' if calls != 1 else ''}",
    ]
    if elapsed_s is not None:
        parts.append(f"{elapsed_s:.2f} s" if elapsed_s < 10 else f"{elapsed_s:.1f} s")
    return " · ".join(parts)


class RunPrinter:
    """Prints records as they come. `echo_prompt` shows the user's messages (for `show`);
    `redactor` hides secrets (by default, strings shaped like API keys).
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
        self._handlers: dict[str, Callable[[Record], None]] = {
            "run_started": self._on_run_started,
            "text_delta": self._on_text_delta,
            "message": self._on_message,
            "tool_call": self._on_tool_call,
            "tool_result": self._on_tool_result,
            "recovery": self._on_recovery,
            "context_trimmed": self._on_context_trimmed,
            "error": self._on_error,
            "run_finished": self._on_run_finished,
        }
        """What each record type shows; `generation` records show nothing."""

    def __call__(self, record: Record) -> None:
        handler = self._handlers.get(str(record.get("type")))
        if handler is not None:
            handler(record)

    def close(self) -> None:
        """Stops a live answer that is still showing (a run cut off mid-answer)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _shown(self, value: object) -> str:
        """`value` as text to print: its secrets hidden, its control characters shown."""
        return printable(self._redactor.text(str(value)))

    def _on_run_started(self, record: Record) -> None:
        self._started = time.monotonic()
        if self._echo_prompt:
            title = self._shown(f"run {record.get('run', '')}".strip())
            self._console.rule(Text(title), style="dim")

    def _on_text_delta(self, record: Record) -> None:
        channel, text = record.get("channel"), str(record.get("text", ""))
        if record.get("recipient") is not None:
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

    def _on_message(self, record: Record) -> None:
        streamed = self._streamed
        if streamed is not None:
            self._end_stream()
        author, channel = record.get("author"), record.get("channel")
        text = self._shown(record.get("text", ""))
        if author == "user":
            if self._echo_prompt and record.get("text") != "":
                self._console.print(Text(f"> {text}", style="bold"))
            return
        if author != "assistant" or record.get("recipient") is not None:
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

    def _on_tool_call(self, record: Record) -> None:
        arguments = self._shown(record.get("arguments", ""))
        recipient = str(record.get("recipient", ""))
        language = "python" if recipient == "python" else "json"
        body = Syntax(arguments.strip() or "{}", language, word_wrap=True, theme="ansi_dark")
        title = Text(f"→ {self._shown(recipient)}")
        self._console.print(Panel(body, title=title, title_align="left", border_style="blue"))

    def _on_tool_result(self, record: Record) -> None:
        lines = self._shown(record.get("output", "")).splitlines()
        shown = "\n".join(lines[:_RESULT_LINES])
        if len(lines) > _RESULT_LINES:
            shown += f"\n… {len(lines) - _RESULT_LINES} more lines"
        error = record.get("error")
        title = f"← {record.get('recipient', '')} · {float(record.get('duration_s', 0)):.2f} s"
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

    def _on_recovery(self, record: Record) -> None:
        line = f"↺ repaired {record.get('kind')}: {record.get('detail')}"
        self._console.print(Text(self._shown(line), style="yellow dim"))

    def _on_context_trimmed(self, record: Record) -> None:
        line = (
            f"✂ {record.get('kind')}: {record.get('tokens_removed')} tokens "
            f"({record.get('detail')})"
        )
        self._console.print(Text(self._shown(line), style="yellow dim"))

    def _on_error(self, record: Record) -> None:
        self.close()
        line = f"error: {record.get('kind')}: {record.get('message')}"
        self._console.print(Text(self._shown(line), style="bold red"))

    def _on_run_finished(self, record: Record) -> None:
        self.close()
        citations: list[dict[str, Any]] = record.get("citations") or []
        if citations:
            notes = [
                Text.assemble(
                    (f"[{number}] ", "bold"),
                    f"{self._shown(c.get('title') or c.get('url'))} ",
                    (self._shown(c.get("url", "")), "underline blue"),
                    (f" (lines {c['lines'][0]}-{c['lines'][1]})" if c.get("lines") else "", "dim"),
                )
                for number, c in enumerate(citations, start=1)
            ]
            self._console.print(Group(*notes))
        elapsed = record.get("elapsed_s")
        if elapsed is None:
            elapsed = time.monotonic() - self._started
        ok = record.get("stop_reason") == "final"
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
