"""`batch --ray` through the real console script: a local Ray cluster started by the command,
the same statuses as on one machine, each id once, resume; and the error without the extra.
"""

from __future__ import annotations

from pathlib import Path

import psutil
from harmony_agent.cli import ExitCode

from tests.console import Cli, without_module
from tests.integration.cli.test_batch_command import TASKS, make_batch, results


def ray_processes() -> set[int]:
    """The pids of Ray's cluster processes on this machine (its GCS server and raylets)."""
    found = set()
    for process in psutil.process_iter(["name"]):
        if process.info["name"] in ("raylet", "gcs_server"):
            found.add(process.pid)
    return found


def test_a_batch_on_a_local_ray_cluster_records_each_task_once(cli: Cli, tmp_path: Path) -> None:
    config, tasks, expected = make_batch(tmp_path, token_delay=0)
    output = tmp_path / "results.jsonl"
    before = ray_processes()
    done = cli(
        "batch", config, tasks, "-o", output, "-c", "2", "--traces", tmp_path / "traces",
        "--ray", "local", "--ray-workers", "2", timeout=180,
    )  # fmt: skip
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    saved = results(output)
    assert sorted(r["id"] for r in saved) == sorted(expected), "every task exactly once"
    assert {r["id"]: r["status"] for r in saved} == expected
    assert len(list((tmp_path / "traces").glob("task-*.jsonl"))) == TASKS
    assert f"{TASKS} run, 0 skipped, 1 invalid lines" in " ".join(done.stdout.split())
    # the cluster the command started ended with it
    started = [psutil.Process(pid) for pid in ray_processes() - before]
    _, left = psutil.wait_procs(started, timeout=20)
    assert not left, f"Ray processes left behind: {left}"

    again = cli("batch", config, tasks, "-o", output, "--ray", "local")
    assert "0 run, 24 skipped" in " ".join(again.stdout.split())
    assert len(results(output)) == TASKS


def test_without_the_ray_extra_ray_says_how_to_install_it(cli: Cli, tmp_path: Path) -> None:
    config, tasks, _ = make_batch(tmp_path, token_delay=0)
    output = tmp_path / "results.jsonl"
    done = cli(
        "batch",
        str(config),
        str(tasks),
        "-o",
        str(output),
        "--ray",
        "auto",
        env=without_module("ray", tmp_path / "no-ray"),
    )
    assert done.returncode == ExitCode.USAGE
    assert "pip install 'harmony-agent[ray]'" in " ".join(done.stderr.split())
    assert not output.exists()  # nothing started
