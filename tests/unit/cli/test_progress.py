"""The progress lines of long steps: counted stages with count, detail and time left; steps of
unknown length with the time spent.
"""

from __future__ import annotations

import io

import pytest
from harmony_agent.cli._progress import ProgressDisplay
from harmony_agent.tiny import BuildProgress, BuildStage
from rich.console import Console


def shown(feed: list[BuildProgress], *, step: str | None = None) -> str:
    """What the display last showed after `feed` (and, if given, a step that failed)."""
    console = Console(file=io.StringIO(), width=160, color_system=None)
    with ProgressDisplay(console) as display:
        for event in feed:
            display(event)
        if step is not None:
            with pytest.raises(RuntimeError), display.step(step):
                raise RuntimeError("vLLM did not start")
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return output


def test_training_shows_step_loss_and_time_left() -> None:
    feed = [
        BuildProgress(BuildStage.TRAIN, step, 1500, f"loss {4 / (step + 1):.4f}")
        for step in range(0, 751, 50)
    ]
    (line,) = shown(feed).splitlines()
    assert "Training the tiny checkpoint" in line
    assert "750/1500" in line
    assert "loss 0.0053" in line
    assert line.endswith(" left")


def test_a_finished_stage_shows_its_count_and_no_time_left() -> None:
    feed = [BuildProgress(BuildStage.RECORD, done, 4864) for done in (0, 2000, 4864)]
    (line,) = shown(feed).splitlines()
    assert "Recording agent runs" in line
    assert "4864/4864" in line
    assert "left" not in line


def test_a_one_step_stage_shows_no_count() -> None:
    for feed in [[0], [0, 1]]:
        (line,) = shown([BuildProgress(BuildStage.UNPACK, done, 1) for done in feed]).splitlines()
        assert "Unpacking the tiny checkpoint" in line
        assert "/1" not in line


def test_each_stage_and_step_has_its_own_line() -> None:
    feed = [
        BuildProgress(BuildStage.RECORD, 10, 10),
        BuildProgress(BuildStage.TRAIN, 3, 10, "loss 1.0000"),
    ]
    lines = shown(feed, step="Starting vLLM on the CPU").splitlines()
    assert [line.split()[1] for line in lines] == ["Recording", "Training", "Starting"]
    assert "0:00:0" in lines[2]  # the time spent so far
