"""Prometheus metrics of the server, rendered in the text exposition format: runs, turns, tool
calls, errors and run latency, by model; runs running now, and runs cancelled because their
client went away.
"""

from __future__ import annotations

import math
from collections import Counter

__all__ = ["Metrics"]

_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, math.inf)


class Metrics:
    """Counters and a latency histogram, in memory, for one server process."""

    def __init__(self) -> None:
        self._runs: Counter[tuple[str, str, str]] = Counter()
        self._turns: Counter[str] = Counter()
        self._tool_calls: Counter[str] = Counter()
        self._errors: Counter[tuple[str, int]] = Counter()
        self._latency: dict[str, list[int]] = {}
        self._latency_sum: dict[str, float] = {}
        self._cancelled: Counter[str] = Counter()
        self.running = 0
        """Runs holding a run slot now."""

    def run(
        self,
        model: str,
        endpoint: str,
        outcome: str,
        *,
        turns: int,
        tool_calls: int,
        seconds: float,
    ) -> None:
        """Counts a finished run."""
        self._runs[model, endpoint, outcome] += 1
        self._turns[model] += turns
        self._tool_calls[model] += tool_calls
        buckets = self._latency.setdefault(model, [0] * len(_BUCKETS))
        for index, bound in enumerate(_BUCKETS):
            if seconds <= bound:
                buckets[index] += 1
        self._latency_sum[model] = self._latency_sum.get(model, 0.0) + seconds

    def error(self, endpoint: str, status: int) -> None:
        """Counts a request answered with an error (or a stream that ended with one)."""
        self._errors[endpoint, status] += 1

    def cancelled(self, endpoint: str) -> None:
        """Counts a run cancelled because its client went away."""
        self._cancelled[endpoint] += 1

    def render(self) -> str:
        """The metrics in Prometheus' text format."""
        lines = [
            "# HELP harmony_agent_runs_total Runs finished, by model, endpoint and stop reason.",
            "# TYPE harmony_agent_runs_total counter",
        ]
        lines += [
            f'harmony_agent_runs_total{{model="{_label(m)}",endpoint="{e}",outcome="{o}"}} {n}'
            for (m, e, o), n in sorted(self._runs.items())
        ]
        lines += [
            "# HELP harmony_agent_turns_total Model generations, by model.",
            "# TYPE harmony_agent_turns_total counter",
        ]
        lines += [
            f'harmony_agent_turns_total{{model="{_label(m)}"}} {n}'
            for m, n in sorted(self._turns.items())
        ]
        lines += [
            "# HELP harmony_agent_tool_calls_total Tool calls the server ran, by model.",
            "# TYPE harmony_agent_tool_calls_total counter",
        ]
        lines += [
            f'harmony_agent_tool_calls_total{{model="{_label(m)}"}} {n}'
            for m, n in sorted(self._tool_calls.items())
        ]
        lines += [
            "# HELP harmony_agent_errors_total Requests answered with an error, by status.",
            "# TYPE harmony_agent_errors_total counter",
        ]
        lines += [
            f'harmony_agent_errors_total{{endpoint="{e}",status="{s}"}} {n}'
            for (e, s), n in sorted(self._errors.items())
        ]
        lines += [
            "# HELP harmony_agent_runs_running Runs holding a run slot now.",
            "# TYPE harmony_agent_runs_running gauge",
            f"harmony_agent_runs_running {self.running}",
            "# HELP harmony_agent_runs_cancelled_total Runs cancelled as their client went away.",
            "# TYPE harmony_agent_runs_cancelled_total counter",
        ]
        lines += [
            f'harmony_agent_runs_cancelled_total{{endpoint="{e}"}} {n}'
            for e, n in sorted(self._cancelled.items())
        ]
        lines += [
            "# HELP harmony_agent_run_seconds Wall time of runs, by model.",
            "# TYPE harmony_agent_run_seconds histogram",
        ]
        for model, buckets in sorted(self._latency.items()):
            name = _label(model)
            for bound, count in zip(_BUCKETS, buckets, strict=True):
                le = "+Inf" if math.isinf(bound) else f"{bound:g}"
                lines.append(
                    f'harmony_agent_run_seconds_bucket{{model="{name}",le="{le}"}} {count}'
                )
            lines.append(
                f'harmony_agent_run_seconds_sum{{model="{name}"}} {self._latency_sum[model]}'
            )
            lines.append(f'harmony_agent_run_seconds_count{{model="{name}"}} {buckets[-1]}')
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
