"""Totals over a batch's outcomes: pass rate, errors by kind, tokens, time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from harmony_agent.batch._outcome import Status, TaskOutcome

__all__ = ["BatchSummary"]


@dataclass
class BatchSummary:
    """Running totals; `add` each outcome as it comes."""

    total: int = 0
    """Tasks to run in this invocation (not counting skipped ones)."""
    skipped: int = 0
    """Tasks already in the results file."""
    invalid_lines: int = 0
    statuses: Counter[Status] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    task_seconds: float = 0.0

    def add(self, outcome: TaskOutcome) -> None:
        """Counts one finished task."""
        self.statuses[outcome.status] += 1
        if outcome.error_kind is not None:
            self.errors[outcome.error_kind] += 1
        self.prompt_tokens += outcome.prompt_tokens
        self.completion_tokens += outcome.completion_tokens
        self.task_seconds += outcome.duration_s

    @property
    def finished(self) -> int:
        """Tasks finished in this invocation."""
        return sum(self.statuses.values())

    @property
    def judged(self) -> int:
        """Finished tasks that had a check (or errored)."""
        return self.finished - self.statuses[Status.DONE]

    @property
    def pass_rate(self) -> float | None:
        """Passed / judged (None before any judged task)."""
        return self.statuses[Status.PASSED] / self.judged if self.judged else None

    @property
    def all_passed(self) -> bool:
        """Whether nothing failed, errored or was an invalid line."""
        bad = self.statuses[Status.FAILED] + self.statuses[Status.ERROR]
        return bad == 0 and self.invalid_lines == 0
