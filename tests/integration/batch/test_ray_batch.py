"""The Ray driver on a real local Ray cluster in this process: workers built from a YAML config
(a routed scripted engine and developer functions), one of which kills its worker's process.

A task whose worker dies runs again on another worker; one that kills every worker it runs on
is recorded as an error after `max_attempts`; every id is recorded exactly once.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from harmony_agent import ConfigError
from harmony_agent.batch import ResultsFile, Task
from harmony_agent.batch._ray import RayBatchRunner, RaySettings
from harmony_agent.config import load_config

from tests.fakes import final

DEADLINE_S = 240
"""Far beyond what the batch takes: it stops a hang, it times nothing."""

CRASH_TOOLS = '''
import os
from pathlib import Path

HERE = Path(__file__).parent


def crash_once(key: str) -> str:
    """Kills the process running it the first time it is called with `key`."""
    marker = HERE / f"{key}.crashed"
    if not marker.exists():
        marker.write_text("")
        os._exit(1)
    return "survived"


def crash_always() -> str:
    """Kills the process running it."""
    (HERE / "always.calls").open("a").write("x")
    os._exit(1)
'''


def call(function: str, arguments: dict[str, Any]) -> str:
    return (
        f"<|channel|>commentary to=functions.{function} <|constrain|>json"
        f"<|message|>{json.dumps(arguments)}<|call|>"
    )


def write_config(directory: Path, scripts: dict[str, list[str]]) -> Path:
    (directory / "crash_tools.py").write_text(CRASH_TOOLS)
    config = {
        "engine": {"kind": "scripted", "script": scripts},
        "tools": {"functions": ["crash_tools:crash_once", "crash_tools:crash_always"]},
        "limits": {"max_turns": 3},
    }
    path = directory / "agent.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_on_ray(
    directory: Path, scripts: dict[str, list[str]], *, concurrency: int, max_attempts: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Runs one task per script key on two workers; returns the results file's records and
    the ids handed to `on_finished`.
    """
    config = load_config(write_config(directory, scripts))
    tasks = [Task(id=key.replace(" ", "-"), prompt=f"{key}, please") for key in scripts]
    results = ResultsFile(directory / "results.jsonl")
    results.open()
    finished: list[str] = []
    runner = RayBatchRunner(
        config.open,
        results,
        settings=RaySettings(workers=2, max_attempts=max_attempts),
        concurrency=concurrency,
        on_finished=lambda outcome: finished.append(outcome.id),
    )
    try:
        asyncio.run(asyncio.wait_for(runner.run(tasks), DEADLINE_S))
    finally:
        results.close()
    records = read_records(directory / "results.jsonl")
    ids = Counter(t.id for t in tasks)
    assert Counter(r["id"] for r in records) == ids
    assert Counter(finished) == ids
    return records, finished


def test_a_dead_workers_tasks_run_again_and_each_id_is_recorded_once(
    local_ray: None, tmp_path: Path
) -> None:
    scripts = {f"plain {i}": [final(f"answer {i}")] for i in range(8)}
    scripts["dies once"] = [call("crash_once", {"key": "once"}), final("survived")]
    records, _ = run_on_ray(tmp_path, scripts, concurrency=2, max_attempts=3)

    by_id = {r["id"]: r for r in records}
    for i in range(8):
        assert by_id[f"plain-{i}"]["answer"] == f"answer {i}"
    # it killed its first worker (and the task beside it there), then ran on another one
    assert (tmp_path / "once.crashed").exists()
    assert by_id["dies-once"]["answer"] == "survived"
    assert by_id["dies-once"]["status"] == "done"


def test_a_task_that_kills_every_worker_is_recorded_as_an_error(
    local_ray: None, tmp_path: Path
) -> None:
    scripts = {f"plain {i}": [final(f"answer {i}")] for i in range(3)}
    scripts["always dies"] = [call("crash_always", {}), final("never")]
    # one task per worker at a time: each death is the dying task's own
    records, _ = run_on_ray(tmp_path, scripts, concurrency=1, max_attempts=2)

    by_id = {r["id"]: r for r in records}
    assert (tmp_path / "always.calls").read_text() == "xx"  # two attempts, no third
    assert by_id["always-dies"]["status"] == "error"
    assert by_id["always-dies"]["error_kind"] == "WorkerLost"
    assert "2 Ray workers died running this task" in by_id["always-dies"]["error"]
    assert all(by_id[f"plain-{i}"]["answer"] == f"answer {i}" for i in range(3))


def test_a_worker_that_cannot_build_its_agent_fails_the_batch(
    local_ray: None, tmp_path: Path
) -> None:
    config = load_config(write_config(tmp_path, {"x": [final("x")]}))
    (tmp_path / "crash_tools.py").unlink()  # the workers import it when they build the agent
    results = ResultsFile(tmp_path / "results.jsonl")
    results.open()
    runner = RayBatchRunner(config.open, results, settings=RaySettings(workers=1))
    try:
        with pytest.raises(ConfigError, match="cannot import 'crash_tools'") as raised:
            asyncio.run(asyncio.wait_for(runner.run([Task(id="x", prompt="x")]), DEADLINE_S))
    finally:
        results.close()
    assert type(raised.value) is ConfigError  # not Ray's wrapper with the worker's traceback
    assert (tmp_path / "results.jsonl").read_text() == ""


@pytest.mark.parametrize(
    ("settings", "concurrency", "message"),
    [
        (RaySettings(), 0, "concurrency must be at least 1"),
        (RaySettings(workers=0), 1, "workers must be at least 1"),
        (RaySettings(num_cpus=0), 1, "num_cpus must be above 0"),
        (RaySettings(max_attempts=0), 1, "max_attempts must be at least 1"),
    ],
)
def test_settings_that_cannot_run_are_config_errors(
    tmp_path: Path, settings: RaySettings, concurrency: int, message: str
) -> None:
    config = load_config(write_config(tmp_path, {"x": [final("x")]}))
    with pytest.raises(ConfigError, match=message):
        RayBatchRunner(
            config.open,
            ResultsFile(tmp_path / "r.jsonl"),
            settings=settings,
            concurrency=concurrency,
        )
