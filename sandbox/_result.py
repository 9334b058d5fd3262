"""What one execution produced."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ExecutionResult"]


@dataclass(frozen=True)
class ExecutionResult:
    """The outcome of one `Sandbox.execute`.

    `stdout`, `stderr`: the streams (a long one keeps its head and tail, with a note of the
    cut). `result`: the plain-text value of the cell's last expression (None if it had none).
    `error`: the exception as IPython shows it, traceback without colour codes (None if none).
    `images`: image files the cell displayed, saved in the working directory.

    `timed_out`: the cell ran past its timeout and was interrupted. `restarted`: the kernel was
    restarted during this call (after a timeout it ignored, or after it died): every variable
    and import is gone. `died`: why the kernel died during (or before) this call, if it did.
    """

    stdout: str = ""
    stderr: str = ""
    result: str | None = None
    error: str | None = None
    images: tuple[Path, ...] = ()
    timed_out: bool = False
    restarted: bool = False
    died: str | None = None
    duration_s: float = 0.0

    @property
    def interrupted(self) -> bool:
        """Whether the cell was stopped by an interrupt that kept the kernel's state."""
        return self.timed_out and not self.restarted

    @property
    def ok(self) -> bool:
        """Whether the cell ran to its end without an exception, timeout or crash."""
        return self.error is None and not self.timed_out and self.died is None
