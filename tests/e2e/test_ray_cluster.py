"""`batch --ray` on a real two-node Ray cluster on this machine, the tiny checkpoint served by
`vllm serve`: the second node is killed mid-batch, every id is recorded exactly once and the
statuses (so the pass rate) are those of the same batch on one machine.

The head and the second node are `ray start --block` processes of their own process groups
(one CPU each, so each holds one worker): killing the second node's group kills only it. The
workers reach the session's `vllm serve` through an HTTP engine.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import yaml
from harmony_agent.cli import ExitCode
from harmony_agent.tiny import TinyCheckpoint
from harmony_agent.tiny._tasks import ProductTask

from tests.console import CONFIGS, SCRIPT, run_cli
from tests.e2e.vllm_server import VLLMServer, _free_port

RAY = str(Path(sys.executable).parent / "ray")
TIMEOUT_S = 400
"""Far beyond what a batch here takes: it stops a hang, it times nothing."""
ENV = {
    **os.environ,
    # a cluster of this test only: no token written to the home directory, no usage report
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    # a killed node is found dead in seconds, not half a minute
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
    "NO_COLOR": "1",
    "COLUMNS": "100",
}


@dataclass
class Cluster:
    """A head and a second node, each a `ray start --block` process group."""

    address: str
    head: subprocess.Popen[bytes]
    second: subprocess.Popen[bytes]

    def kill_second_node(self) -> None:
        """Kills the second node's raylet and everything of its process group at once."""
        kill_group(self.second)

    def second_node_ports(self, port: int) -> set[int]:
        """The local ports of the connections from the second node's processes (its
        raylet's workers descend from its `ray start`) to `port`.
        """
        ports: set[int] = set()
        with contextlib.suppress(psutil.Error):
            node = psutil.Process(self.second.pid)
            for process in [node, *node.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    ports.update(
                        c.laddr.port
                        for c in process.net_connections()
                        if c.raddr and c.raddr.port == port
                    )
        return ports


def start_node(*args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [RAY, "start", "--block", "--num-cpus=1", "--node-ip-address=127.0.0.1", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=ENV,
            start_new_session=True,
        )


def wait_until_started(process: subprocess.Popen[bytes], log: Path) -> None:
    """Waits for `ray start` to say its node runs (the node has registered with the head)."""
    deadline = time.monotonic() + 180
    while b"Ray runtime started." not in log.read_bytes():
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.5)


def alive_nodes(address: str) -> int:
    """How many nodes the cluster at `address` counts alive (asked from a short-lived driver)."""
    code = (
        f"import ray; ray.init(address={address!r}, logging_level='ERROR', log_to_driver=False); "
        "print(sum(n['Alive'] for n in ray.nodes()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kills a node's process group (its workers end with their raylet)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def cluster_processes(temp_dir: Path) -> list[psutil.Process]:
    """The processes of the cluster: those whose command line names its temp directory (the
    GCS, the raylets, the workers).
    """
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or ())
        if str(temp_dir) in command:
            found.append(process)
    return found


@pytest.fixture
def ray_cluster() -> Iterator[Cluster]:
    """A head and a second node on free ports, killed (and checked gone) after the test."""
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-"))  # short: Ray's socket paths live in it
    port = _free_port()
    address = f"127.0.0.1:{port}"
    logs = temp_dir.with_suffix(".head.log"), temp_dir.with_suffix(".node.log")
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        nodes.append(
            start_node(
                "--head",
                f"--port={port}",
                f"--temp-dir={temp_dir}",
                "--include-dashboard=false",
                log=logs[0],
            )
        )
        wait_until_started(nodes[0], logs[0])
        nodes.append(start_node(f"--address={address}", log=logs[1]))
        wait_until_started(nodes[1], logs[1])
        assert alive_nodes(address) == 2
        yield Cluster(address, nodes[0], nodes[1])
    finally:
        for node in reversed(nodes):
            kill_group(node)
        _, left = psutil.wait_procs(cluster_processes(temp_dir), timeout=30)
        for log in logs:
            log.unlink(missing_ok=True)
        shutil.rmtree(temp_dir, ignore_errors=True)
        assert not left, f"Ray processes left behind: {[p.cmdline() for p in left]}"


def write_batch(directory: Path, tiny: TinyCheckpoint, server: VLLMServer) -> tuple[Path, Path]:
    """The tiny config on an HTTP engine to `server`, and its verified product tasks (one
    check wrong on purpose, so the pass rate is not 1).
    """
    config = yaml.safe_load((CONFIGS / "tiny-cpu.yaml").read_text())
    config["engine"] = {
        "kind": "http",
        "base_urls": [server.base_url],
        "model": server.served_model_name,
    }
    config_path = directory / "agent.yaml"
    config_path.write_text(yaml.safe_dump(config))
    products = [t for t in tiny.verified if isinstance(t, ProductTask)]
    lines = []
    # enough tasks that the second node's worker, the later to start, gets some
    for number, task in enumerate(itertools.islice(itertools.cycle(products), 24)):
        answer = "The answer is 0." if number == 3 else task.expected_answer()
        lines.append(
            json.dumps({"id": f"p{number}", "prompt": task.question, "check": {"answer": answer}})
        )
    tasks_path = directory / "tasks.jsonl"
    tasks_path.write_text("\n".join(lines) + "\n")
    return config_path, tasks_path


def statuses(path: Path) -> dict[str, str]:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    counts = Counter(r["id"] for r in records)
    assert all(n == 1 for n in counts.values()), f"ids recorded twice: {counts}"
    return {r["id"]: r["status"] for r in records}


def test_a_batch_survives_losing_a_node(
    ray_cluster: Cluster, vllm_server: VLLMServer, tiny: TinyCheckpoint, tmp_path: Path
) -> None:
    config, tasks = write_batch(tmp_path, tiny, vllm_server)
    alone = tmp_path / "alone.jsonl"
    done = run_cli("batch", config, tasks, "-o", alone, "-c", "2", timeout=TIMEOUT_S)
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    expected = statuses(alone)
    assert Counter(expected.values()) == {"passed": len(expected) - 1, "failed": 1}

    on_ray = tmp_path / "ray.jsonl"
    batch = subprocess.Popen(
        [
            SCRIPT,
            "batch",
            str(config),
            str(tasks),
            "-o",
            str(on_ray),
            "-c",
            "2",
            "--ray",
            ray_cluster.address,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        # killed while its worker runs a task: as soon as that task's completion streams (a
        # connection alone is no task: the worker's engine reads the served models as it starts)
        deadline = time.monotonic() + TIMEOUT_S
        while not vllm_server.completions_from(ray_cluster.second_node_ports(vllm_server.port)):
            assert batch.poll() is None, batch.communicate()
            assert time.monotonic() < deadline, "the second node never ran a task"
            time.sleep(0.1)
        ray_cluster.kill_second_node()
        out, err = batch.communicate(timeout=TIMEOUT_S)
    finally:
        if batch.poll() is None:
            batch.kill()
            batch.wait()

    assert batch.returncode == ExitCode.INCOMPLETE, err
    # the second node's worker was running tasks when it died: they ran again elsewhere
    assert "a Ray worker died running" in err
    assert statuses(on_ray) == expected
    assert f"{len(expected)} run, 0 skipped" in " ".join(out.split())
