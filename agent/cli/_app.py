"""The `harmony-agent` typer app and what its commands share: consoles, options, config loading."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from harmony_agent._redact import Redactor
from harmony_agent.cli._exit import reports_errors
from harmony_agent.cli._terminal import error_line
from rich.console import Console

if TYPE_CHECKING:
    from harmony_agent.config import AgentConfig, DefaultModel
    from harmony_agent.traces import TraceWriter

__all__ = [
    "ConfigArgument",
    "HideReasoning",
    "TraceOption",
    "announce_engine",
    "app",
    "console",
    "default_engine_line",
    "error_console",
    "handles_errors",
    "load",
    "open_trace",
    "print_problem",
    "redactor",
]

app = typer.Typer(
    name="harmony-agent",
    help="Run gpt-oss agents from YAML configs: single runs, chats, batches, traces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
error_console = Console(stderr=True, highlight=False)


@dataclass
class _Session:
    """What the command running in this process has learnt: `--debug`, and the secrets of
    the configs it loaded (hidden in everything it prints).
    """

    debug: bool = False
    secrets: set[str] = field(default_factory=set)


_session = _Session()


def redactor() -> Redactor:
    """Hides the secrets of the configs loaded so far, and strings shaped like API keys."""
    return Redactor(_session.secrets)


handles_errors = reports_errors(error_console, lambda: _session.debug, redactor)

ConfigArgument = Annotated[
    Path, typer.Argument(help="The agent's YAML config.", show_default=False)
]
HideReasoning = Annotated[
    bool, typer.Option("--hide-reasoning", help="Do not show the model's reasoning.")
]
TraceOption = Annotated[
    Path | None, typer.Option("--trace", help="Append a JSONL trace here (overrides output.trace).")
]


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    _session.debug = debug
    # vLLM logs to stdout; a run's output (and `--json`) must stay readable. Its errors still
    # show, and an explicit VLLM_LOGGING_LEVEL wins.
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "INFO" if debug else "ERROR")


def load(path: Path) -> AgentConfig:
    """The config at `path` (errors name the file, line and key); its secrets are hidden in
    whatever the command prints from now on.
    """
    from harmony_agent.config import load_config

    config = load_config(path)
    _session.secrets.update(config.secrets)
    return config


def print_problem(label: str, text: str) -> None:
    """Prints `label: text` on stderr, the text with its secrets hidden and made printable."""
    error_console.print(error_line(label, redactor().text(text)), soft_wrap=True)


def announce_engine(config: AgentConfig) -> None:
    """Says on stderr which model the embedded default engine runs, and why."""
    if config.engine.kind != "default":
        return
    from harmony_agent.config import default_model

    choice = default_model()
    style = "yellow" if choice.model is None else "default"
    error_console.print(default_engine_line(choice), style=style)


def default_engine_line(choice: DefaultModel) -> str:
    """One line saying which model the embedded default engine runs, and why."""
    if choice.model is None:
        return (
            f"No gpt-oss-20b here ({choice.reason}): running the tiny gpt-oss checkpoint on the "
            "CPU, which only knows its two training tasks."
        )
    return f"Running {choice.model} in-process ({choice.reason})."


def open_trace(config: AgentConfig, override: Path | None) -> TraceWriter | None:
    """The trace writer the config or `--trace` asks for, opened; None without one."""
    from harmony_agent.traces import TraceWriter

    path = override or config.output.trace
    return None if path is None else TraceWriter(path, secrets=config.secrets).open()
