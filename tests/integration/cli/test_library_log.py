"""The demo's output: what torch, transformers, vLLM and their child processes print goes
into the log, and only the demo's own lines (its warnings too) reach the terminal, unless
`--verbose`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from harmony_agent.cli._demo_command import _terminal

PREPARE = textwrap.dedent(
    """
    import multiprocessing, os, sys, warnings
    from pathlib import Path

    from harmony_agent.cli._demo_command import _agents
    from harmony_agent.cli._library_log import library_output_into
    from harmony_agent.cli._progress import ProgressDisplay
    from rich.console import Console


    def child():
        print("child's print")
        os.write(2, b"child's native write\\n")


    if __name__ == "__main__":
        with library_output_into(Path(sys.argv[1])) as terminal:
            console = Console(file=terminal, width=120)
            with ProgressDisplay(console) as progress:
                engine, runs = _agents(None, progress)  # torch, transformers: unpacks
            import vllm  # its platform check warns on a CPU
            warnings.warn("a library's warning", FutureWarning)
            os.write(2, b"a native write\\n")
            process = multiprocessing.get_context("spawn").Process(target=child)
            process.start()
            process.join()
            console.print(f"asks: {runs[0][1]}")
        print("after the block")
    """
)

FAIL = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path

    from harmony_agent.cli._library_log import library_output_into

    with library_output_into(Path(sys.argv[1])):
        os.write(2, b"the engine core died: out of shared memory\\n")
        raise RuntimeError("vLLM failed to start")
    """
)


def run(script: str, log: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    """Runs `script` from a file (a spawned child imports its main module again)."""
    env = {**os.environ, "HARMONY_AGENT_CACHE": str(cache), "NO_COLOR": "1", "TERM": "dumb"}
    path = cache.parent / "script.py"
    path.write_text(script)
    return subprocess.run(
        [sys.executable, str(path), str(log)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_only_the_demos_lines_reach_the_terminal(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "demo.log"
    done = run(PREPARE, log, tmp_path / "cache")

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].split()[1:4] == ["Unpacking", "the", "tiny"]
    assert lines[1].startswith("asks: ")
    assert lines[2:] == ["after the block"]
    logged = log.read_text()
    for line in [
        "Writing model shards",  # transformers' progress bar
        "FutureWarning: a library's warning",
        "a native write",
        "child's print",
        "child's native write",
    ]:
        assert line in logged


def test_a_failure_shows_the_end_of_the_log(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    done = run(FAIL, log, tmp_path / "cache")

    assert done.returncode == 1
    assert done.stdout == ""
    before, _, after = done.stderr.partition("RuntimeError: vLLM failed to start")
    assert f"The libraries' log ends ({log}):" in before
    assert "the engine core died: out of shared memory" in before
    assert after.strip() == ""


def test_the_demos_own_warnings_still_reach_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARMONY_AGENT_CACHE", str(tmp_path))
    with _terminal(verbose=False) as terminal:
        logging.getLogger("harmony_agent.sandbox").warning("python sandbox: DEGRADED isolation")
        os.write(2, b"a library's native write\n")
        print("ours", file=terminal)

    out, err = capfd.readouterr()
    assert out == "WARNING: python sandbox: DEGRADED isolation\nours\n"
    assert err == ""
    assert (tmp_path / "demo.log").read_text() == "a library's native write\n"


@pytest.mark.parametrize(("given", "shown"), [("ERROR", "INFO"), ("DEBUG", "DEBUG")])
def test_verbose_shows_the_libraries_and_vllms_info_logs(
    given: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VLLM_LOGGING_LEVEL", given)  # ERROR: the command line's default
    with _terminal(verbose=True) as terminal:
        assert terminal is sys.stdout
        assert os.environ["VLLM_LOGGING_LEVEL"] == shown
