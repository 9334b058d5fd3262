"""What the libraries under a command write to the terminal, moved into a log file.

vLLM, torch, transformers and Triton print warnings and logs from this process (Python's
`warnings` and `logging` through `sys.stderr`, native code straight to file descriptors 1 and
2) and from the processes vLLM starts (its engine core and workers inherit both descriptors).
Pointing descriptors 1 and 2 at a file catches all of them; the command prints through a
stream of its own on the terminal.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from harmony_agent.cli._app import error_console
from harmony_agent.cli._terminal import printable
from rich.text import Text

__all__ = ["library_output_into"]

_TAIL_LINES = 30
"""Lines of the log shown when the command fails."""


@contextlib.contextmanager
def library_output_into(log: Path) -> Iterator[TextIO]:
    """Sends everything written to file descriptors 1 and 2 while the block runs (by this
    process and by the processes it starts) into `log`, and yields a text stream on the
    terminal's standard output for the command's own output.

    When the block fails, the last lines of the log are shown on standard error before the
    error goes on: they usually say why.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = open(  # noqa: SIM115 (closed below, after the descriptors are restored)
        os.dup(saved[0]),
        "w",
        encoding=sys.stdout.encoding or "utf-8",
        errors="replace",
        buffering=1,
    )
    try:
        with log.open("wb") as file:
            os.dup2(file.fileno(), 1)
            os.dup2(file.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            terminal.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
    except Exception:
        _show_tail(log)
        raise
    finally:
        terminal.close()
        for descriptor in saved:
            os.close(descriptor)


def _show_tail(log: Path) -> None:
    with log.open(encoding="utf-8", errors="replace") as file:
        tail = "".join(deque(file, maxlen=_TAIL_LINES)).rstrip()
    if tail:
        error_console.print(
            f"The libraries' log ends ({log}):", style="dim", markup=False, soft_wrap=True
        )
        error_console.print(Text(printable(tail), style="dim"), soft_wrap=True)
