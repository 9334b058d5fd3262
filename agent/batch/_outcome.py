"""What became of one task: its status, answer, check results, error, usage and time."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from harmony_agent.batch._tasks import Check

__all__ = ["Status", "TaskOutcome", "judge_answer"]


class Status(StrEnum):
    """How a task ended."""

    PASSED = "passed"
    """The agent answered and every check passed."""
    FAILED = "failed"
    """The agent answered and a check failed."""
    ERROR = "error"
    """No answer to judge: the engine failed, a limit stopped the run, or a check crashed."""
    DONE = "done"
    """The agent answered; the task has no check."""


@dataclass(frozen=True)
class TaskOutcome:
    """One task's result, as written to the results file.

    `checks` maps each check given (`answer`, `regex`, `python`) to whether it passed;
    `error_kind` is set for `Status.ERROR` (the stop reason, or the exception's type name);
    `check_output` is what the Python check printed, and why it failed.
    """

    id: str
    status: Status
    answer: str = ""
    stop_reason: str | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    error_kind: str | None = None
    error: str | None = None
    check_output: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    turns: int = 0
    tool_calls: int = 0
    duration_s: float = 0.0

    def record(self) -> dict[str, Any]:
        """The JSON line for the results file."""
        return {**asdict(self), "status": str(self.status)}


def judge_answer(check: Check, answer: str) -> dict[str, bool]:
    """The outcome of the answer checks (`answer`, `regex`) that `check` gives."""
    results: dict[str, bool] = {}
    if check.answer is not None:
        results["answer"] = answer.strip() == check.answer.strip()
    if check.regex is not None:
        results["regex"] = re.search(check.regex, answer) is not None
    return results
