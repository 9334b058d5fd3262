"""`exec --ray` through the real console script: a local Ray cluster started by the command,
the same statuses as on one machine, each id once, resume; and the error without the extra.
"""

from __future__ import annotations

import json
from pathlib import Path

from harmony_agent.cli import ExitCode

from tests.console import Cli, without_module
from tests.integration.cli.test_exec_command import EXPECTED, PROGRAMS, results, write_lines


def test_exec_on_a_local_ray_cluster_gets_the_local_statuses_once_each(
    cli: Cli, tmp_path: Path
) -> None:
    programs = write_lines(tmp_path / "programs.jsonl", [json.dumps(p) for p in PROGRAMS])
    output = tmp_path / "results.jsonl"
    done = cli(
        "exec", programs, "-o", output, "--timeout", "5", "-c", "2",
        "--ray", "local", "--ray-workers", "2", timeout=180,
    )  # fmt: skip
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    saved = results(output)
    assert sorted(r["id"] for r in saved) == sorted(EXPECTED), "every program exactly once"
    assert {r["id"]: (r["status"], r["exit_code"], r["stdout"]) for r in saved} == EXPECTED
    out = " ".join(done.stdout.split())
    assert f"{len(PROGRAMS)} run, 0 skipped, 0 invalid lines" in out
    assert "error: 1, failed: 1, passed: 4, timed_out: 1" in out

    again = cli("exec", programs, "-o", output, "--ray", "local")
    assert f"0 run, {len(PROGRAMS)} skipped" in " ".join(again.stdout.split())
    assert len(results(output)) == len(PROGRAMS)


def test_exec_without_the_ray_extra_says_how_to_install_it(cli: Cli, tmp_path: Path) -> None:
    programs = write_lines(tmp_path / "programs.jsonl", [json.dumps(PROGRAMS[0])])
    output = tmp_path / "results.jsonl"
    done = cli(
        "exec",
        str(programs),
        "-o",
        str(output),
        "--ray",
        "auto",
        env=without_module("ray", tmp_path / "no-ray"),
    )
    assert done.returncode == ExitCode.USAGE
    assert "pip install 'harmony-agent[ray]'" in " ".join(done.stderr.split())
    assert not output.exists()  # nothing started
