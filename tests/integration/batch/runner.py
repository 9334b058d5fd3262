"""A batch run in the tests: four tasks at a time, bounded in time, its saved results read back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harmony_agent import Agent
from harmony_agent.batch import BatchRunner, ResultsFile, Task

DEADLINE_S = 300
"""Far beyond what a batch here takes: it stops a hang, it times nothing."""


async def run_batch(
    agent: Agent, tasks: Sequence[Task], directory: Path
) -> dict[str, dict[str, Any]]:
    """Runs `tasks`, four at a time, and returns the saved results by task id; a batch that
    hangs fails after `DEADLINE_S`.
    """
    results = ResultsFile(directory / "results.jsonl")
    results.open()
    try:
        async with asyncio.timeout(DEADLINE_S):
            await BatchRunner(agent, results, concurrency=4).run(tasks)
    finally:
        results.close()
    lines = (directory / "results.jsonl").read_text(encoding="utf-8").splitlines()
    return {record["id"]: record for record in map(json.loads, lines)}
