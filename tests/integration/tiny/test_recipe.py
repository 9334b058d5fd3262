"""The recipe on a few runs and steps: what training reports while it works, and a trained
model shipped and unpacked is exactly the model `export` writes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from harmony_agent.tiny import BuildProgress, BuildStage, DataSettings
from harmony_agent.tiny._recipe import Trained, default_python_namespaces, train
from harmony_agent.tiny._shipped import read_shipped, write_shipped
from harmony_agent.tiny._training import ModelShape, TrainingSettings, export
from harmony_agent.tools import ToolNamespace
from safetensors.torch import load_file

Namespaces = tuple[ToolNamespace, ...]

DATA = DataSettings(train_size=24, held_out_size=6)
SETTINGS = TrainingSettings(steps=6, warmup_steps=2, batch_size=4)


@pytest.fixture(scope="module")
def namespaces() -> Namespaces:
    return default_python_namespaces()[:2]


@pytest.fixture(scope="module")
def training(namespaces: Namespaces) -> tuple[Trained, list[BuildProgress]]:
    events: list[BuildProgress] = []
    return train(namespaces, DATA, events.append, SETTINGS), events


def test_training_reports_each_step_with_its_loss(
    training: tuple[Trained, list[BuildProgress]],
) -> None:
    _, events = training
    steps = [event for event in events if event.stage is BuildStage.TRAIN]
    assert [event.done for event in steps] == list(range(SETTINGS.steps + 1))
    assert {event.total for event in steps} == {SETTINGS.steps}
    assert all(re.fullmatch(r"loss \d+\.\d{4}", event.detail) for event in steps[1:])


def test_recording_and_checking_count_up_to_their_totals(
    training: tuple[Trained, list[BuildProgress]],
) -> None:
    _, events = training
    runs = DATA.train_size + 2 * DATA.held_out_size  # held-out tasks under each namespace
    for stage, total in [(BuildStage.RECORD, runs), (BuildStage.CHECK, None)]:
        seen = [event for event in events if event.stage is stage]
        assert seen[0].done == 0
        assert seen[-1].done == seen[-1].total == (total or seen[-1].total)
        assert [e.done for e in seen] == sorted(e.done for e in seen)


def test_a_shipped_model_unpacks_to_what_export_writes(
    training: tuple[Trained, list[BuildProgress]],
    namespaces: Namespaces,
    tmp_path: Path,
) -> None:
    trained, _ = training
    written = write_shipped(tmp_path / "shipped", trained, namespaces, "fingerprint")
    shipped = read_shipped(tmp_path / "shipped")
    assert shipped == written
    assert shipped.report == trained.report

    shipped.unpack(tmp_path / "unpacked")
    export(trained.state, trained.vocab, ModelShape(), tmp_path / "exported")

    unpacked = load_file(tmp_path / "unpacked" / "model.safetensors")
    exported = load_file(tmp_path / "exported" / "model.safetensors")
    assert unpacked.keys() == exported.keys()
    assert all(torch.equal(unpacked[name], exported[name]) for name in unpacked)
    config = [
        json.loads((tmp_path / d / "config.json").read_text()) for d in ("unpacked", "exported")
    ]
    assert config[0] == config[1]
