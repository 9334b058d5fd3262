"""What one execution (in a kernel) or one program (run once) produced."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ExecutionResult", "ProgramResult"]


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


@dataclass(frozen=True)
class ProgramResult:
    """The outcome of one `ProgramRunner.run`.

    `exit_code`: the program's exit status (minus the signal that killed it), None when it
    ran past its timeout. `stdout`, `stderr`: its output, decoded as UTF-8 (a long stream
    keeps its head and tail, with a note of the cut). `timed_out`: it ran past its timeout and
    every process of the task was killed. `memory_killed`: the kernel's OOM killer killed a
    process of the task at the memory limit. `duration_s`: wall time from its start to the end
    of its last process. `cpu_s`: CPU time of the program and of the processes it waited for
    (None when the template could not count it). `peak_memory_bytes`: the most memory the
    task used at once (its cgroup's peak; without a cgroup, its largest process's peak
    resident size).
    `not_copied`: what the `directory` given held that was not copied, by kind (e.g.
    "2 symbolic links"); None when everything was.
    """

    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    memory_killed: bool = False
    duration_s: float = 0.0
    cpu_s: float | None = None
    peak_memory_bytes: int | None = None
    not_copied: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the program exited with status 0, in time and within its memory."""
        return self.exit_code == 0 and not self.timed_out and not self.memory_killed
