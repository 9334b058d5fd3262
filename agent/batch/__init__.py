"""Batches: many tasks from a JSONL file run concurrently, each result saved as it ends.

Each task line is `{"id": ..., "prompt": ..., "files": [...], "check": {...}}`; results are
appended to a JSONL file and synced per task, and tasks whose id is already there are skipped,
so an interrupted batch (even `kill -9`) resumes where it stopped. `RayBatchRunner` runs the
tasks on a Ray cluster (the `ray` extra), its driver keeping the one results file.
"""

from harmony_agent.batch._outcome import Status, TaskOutcome
from harmony_agent.batch._ray import RayBatchRunner, RaySettings
from harmony_agent.batch._results import ResultsFile
from harmony_agent.batch._runner import BatchRunner
from harmony_agent.batch._summary import BatchSummary
from harmony_agent.batch._tasks import BadLine, Check, Task, read_tasks

__all__ = [
    "BadLine",
    "BatchRunner",
    "BatchSummary",
    "Check",
    "RayBatchRunner",
    "RaySettings",
    "ResultsFile",
    "Status",
    "Task",
    "TaskOutcome",
    "read_tasks",
]
