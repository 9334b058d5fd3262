"""Exit codes scripts can rely on, and the one place errors become messages."""

from __future__ import annotations

import enum
import functools
import traceback
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from harmony_agent._redact import Redactor
from harmony_agent.cli._terminal import error_line, printable
from rich.console import Console
from rich.text import Text

__all__ = ["ExitCode", "UserError", "reports_errors"]

P = ParamSpec("P")
T = TypeVar("T")


class ExitCode(enum.IntEnum):
    """What the process exit status means."""

    OK = 0
    """The run answered; every batch task ran and passed its check."""
    INCOMPLETE = 1
    """A run stopped without a final answer (a limit, or an answer that never matched the
    output type), or batch tasks failed or were invalid."""
    USAGE = 2
    """Bad arguments, an invalid config or tasks file, a file that cannot be read."""
    ENGINE = 3
    """The engine could not start or failed to generate."""
    TOOL = 4
    """A tool could not start: e.g. the python sandbox's kernel, or the isolation it requires."""
    INTERNAL = 70
    """A bug in harmony-agent (run with --debug for the traceback)."""
    INTERRUPTED = 130
    """Stopped with Ctrl-C."""


class UserError(Exception):
    """Something the person running the command must fix; shown without a traceback."""


def reports_errors(
    console: Console, debug: Callable[[], bool], redactor: Callable[[], Redactor]
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Turns known errors into a message and an exit code; `debug()` adds the traceback. What
    is printed has the secrets `redactor()` knows hidden and its control characters shown.
    """

    def decorate(command: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(command)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            from harmony_agent import (
                ConfigError,
                EngineError,
                OutputValidationError,
                ToolUnavailable,
            )
            from harmony_agent.tools.mcp import MCPServerUnavailable

            try:
                return command(*args, **kwargs)
            except (typer.Exit, typer.Abort):
                raise
            except KeyboardInterrupt:
                console.print("[yellow]interrupted[/]")
                raise typer.Exit(ExitCode.INTERRUPTED) from None
            except Exception as error:
                if isinstance(error, ConfigError | UserError):
                    code, label = ExitCode.USAGE, "error"
                elif isinstance(error, EngineError):
                    code, label = ExitCode.ENGINE, "engine error"
                elif isinstance(error, ToolUnavailable | MCPServerUnavailable):
                    code, label = ExitCode.TOOL, "tool unavailable"
                elif isinstance(error, OutputValidationError):
                    code, label = ExitCode.INCOMPLETE, "no answer"
                else:
                    code, label = ExitCode.INTERNAL, "internal error"
                hide = redactor()
                if debug():
                    text = hide.text("".join(traceback.format_exception(error)))
                    console.print(Text(printable(text)), soft_wrap=True)
                for line in hide.text(str(error)).splitlines() or [type(error).__name__]:
                    console.print(error_line(label, line), soft_wrap=True)
                if code is ExitCode.INTERNAL and not debug():
                    console.print("run again with --debug to see the traceback", style="dim")
                raise typer.Exit(code) from None

        return wrapper

    return decorate
