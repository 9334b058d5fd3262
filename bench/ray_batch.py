"""Batches on Ray: tasks per second as workers are added, in a simulation on one machine.

A local Ray cluster (`CPUS` logical CPUs) runs the same batch with 1, 2 and 4 workers, each a
stand-in for one machine: every worker builds its agent from a YAML config whose scripted
engine answers each task after `TOKEN_DELAY_S` per token (a remote engine's latency, no
compute), `CONCURRENCY` tasks at a time. The driver records every outcome in one results file.
With the engine's latency the bound, tasks per second should grow with the workers until the
driver (one process writing and syncing each line) or the machine's cores are the bound; this
measures that on this machine, not what real nodes with real engines give.

Run from the repository root: .venv/bin/python -m bench.ray_batch
(writes bench/results/ray_batch.md)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import tempfile
import time
from pathlib import Path

import ray
from harmony_agent.batch import ResultsFile, Task
from harmony_agent.batch._ray import RayBatchRunner, RaySettings
from harmony_agent.config import load_config

CPUS = 4
WORKERS = (1, 2, 4)
TASKS = 96
CONCURRENCY = 2
TOKEN_DELAY_S = 0.02
ANSWER = "The answer is {n}, as computed."
RESULTS = Path(__file__).parent / "results" / "ray_batch.md"


def write_config(directory: Path) -> Path:
    script = {
        f"task {n:03d}": [f"<|channel|>final<|message|>{ANSWER.format(n=n)}<|return|>"]
        for n in range(TASKS)
    }
    config = {"engine": {"kind": "scripted", "script": script, "token_delay_s": TOKEN_DELAY_S}}
    path = directory / "agent.yaml"
    path.write_text(json.dumps(config))
    return path


async def one_batch(config_path: Path, workers: int, directory: Path) -> float:
    """Runs the batch on `workers` workers; returns its tasks per second (workers started)."""
    config = load_config(config_path)
    tasks = [Task(id=f"t{n}", prompt=f"task {n:03d}?") for n in range(TASKS)]
    results = ResultsFile(directory / f"results-{workers}.jsonl")
    results.open()
    finished_at: list[float] = []
    runner = RayBatchRunner(
        config.open,
        results,
        settings=RaySettings(workers=workers),
        concurrency=CONCURRENCY,
        on_finished=lambda outcome: finished_at.append(time.monotonic()),
    )
    try:
        await runner.run(tasks)
    finally:
        results.close()
    lines = (directory / f"results-{workers}.jsonl").read_text().splitlines()
    assert len({json.loads(line)["id"] for line in lines}) == len(lines) == TASKS
    # from the first result on: workers' start-up (importing, building the agent) left out
    return (TASKS - 1) / (finished_at[-1] - finished_at[0])


def main() -> None:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        address="local",
        num_cpus=CPUS,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    rates: dict[int, float] = {}
    try:
        with tempfile.TemporaryDirectory() as name:
            directory = Path(name)
            config_path = write_config(directory)
            for workers in WORKERS:
                rates[workers] = asyncio.run(one_batch(config_path, workers, directory))
                print(f"{workers} workers: {rates[workers]:.1f} tasks/s", flush=True)
    finally:
        ray.shutdown()
    lines = [
        "# Batches on Ray: tasks per second as workers are added (simulation, one machine)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other work); "
        f"a local Ray cluster of {CPUS} logical CPUs, ray {ray.__version__}.",
        f"{TASKS} tasks, {CONCURRENCY} at a time per worker; each answered by a scripted engine "
        f"at {TOKEN_DELAY_S * 1000:.0f} ms per token of a one-sentence answer (a remote "
        "engine's latency, no compute). Rate from the first result to the last, so the "
        "workers' start-up is left out. Each worker stands in for a machine; real nodes were "
        "not measured.",
        "",
        "| workers | tasks/s | x one worker |",
        "|---:|---:|---:|",
    ]
    for workers, rate in rates.items():
        lines.append(f"| {workers} | {rate:.1f} | {rate / rates[WORKERS[0]]:.2f} |")
    lines += ["", "Command: `.venv/bin/python -m bench.ray_batch`", ""]
    RESULTS.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
