"""The tiny checkpoint shipped in the package: what the current recipe trains, for every host,
unpacked into the very model it was trained as.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from harmony_agent.tiny import BuildProgress, BuildStage, DataSettings, build_checkpoint
from harmony_agent.tiny._dataset import record_dataset
from harmony_agent.tiny._recipe import default_python_namespaces, fingerprint
from harmony_agent.tiny._shipped import ShippedCheckpoint, read_shipped
from harmony_agent.tiny._tasks import ProductTask, WeatherTask
from harmony_agent.tiny._training import (
    VOCAB_SIZE,
    CompactVocab,
    ModelShape,
    evaluate,
)
from harmony_agent.tools.python import PythonTool
from safetensors.torch import load
from transformers import GptOssForCausalLM

REGENERATE = "regenerate it with `make tiny-checkpoint` and commit agent/tiny/checkpoint.*"


@pytest.fixture(scope="module")
def shipped() -> ShippedCheckpoint:
    return read_shipped()


def compact_model(shipped: ShippedCheckpoint) -> GptOssForCausalLM:
    """The compact model as it was trained: the k known ids and the "other" class."""
    model = GptOssForCausalLM(ModelShape().config(len(shipped.vocab_ids) + 1))  # type: ignore[no-untyped-call]
    model.load_state_dict(load(shipped.weights))
    model.eval()  # type: ignore[no-untyped-call]
    return model


def test_it_is_what_the_current_recipe_trains(shipped: ShippedCheckpoint) -> None:
    namespaces = default_python_namespaces()
    assert shipped.namespaces == namespaces, f"the python tool's descriptions changed: {REGENERATE}"
    assert shipped.fingerprint == fingerprint(namespaces, DataSettings()), (
        f"the runs, the settings or RECIPE_VERSION changed: {REGENERATE}"
    )


def test_it_serves_this_hosts_python_tool(shipped: ShippedCheckpoint) -> None:
    assert PythonTool().namespace in shipped.namespaces


def test_it_reproduces_its_verified_tasks_under_every_python_description(
    shipped: ShippedCheckpoint,
) -> None:
    model, vocab = compact_model(shipped), CompactVocab(ids=shipped.vocab_ids)
    kinds = {type(task) for task in shipped.report.verified}
    assert kinds == {WeatherTask, ProductTask}  # the demo asks one of each
    for namespace in shipped.namespaces:
        runs = record_dataset(shipped.report.verified, python=namespace)
        assert all(evaluate(model, vocab, runs)), namespace.description


def test_unpacked_it_gives_the_compact_models_probabilities(
    shipped: ShippedCheckpoint, tmp_path: Path
) -> None:
    shipped.unpack(tmp_path)
    full = GptOssForCausalLM.from_pretrained(tmp_path)
    full.eval()  # type: ignore[no-untyped-call]
    assert full.config.vocab_size == VOCAB_SIZE
    compact, vocab = compact_model(shipped), CompactVocab(ids=shipped.vocab_ids)
    run = record_dataset(shipped.report.verified[:1], python=shipped.namespaces[0])
    (tokens,) = (t.tokens for t in run.trajectories)
    with torch.no_grad():
        compact_logits = compact(torch.tensor([vocab.encode(tokens)])).logits
        full_logits = full(torch.tensor([tokens])).logits
    # every known id keeps its logit; every other id has the "other" class's ...
    known = torch.tensor(vocab.ids)
    unused = torch.ones(VOCAB_SIZE, dtype=torch.bool)
    unused[known] = False
    torch.testing.assert_close(full_logits[..., known], compact_logits[..., :-1])
    others = full_logits[..., unused]
    torch.testing.assert_close(others, compact_logits[..., -1:].expand_as(others))
    # ... so together they weigh what the compact model's "other" class weighs in training
    compact_logits[..., -1] += math.log(VOCAB_SIZE - len(vocab))
    torch.testing.assert_close(
        full_logits.log_softmax(-1)[..., known],
        compact_logits.log_softmax(-1)[..., :-1],
        rtol=1e-5,
        atol=1e-3,  # log-probabilities down to -50, summed over 201,088 ids in float32
    )


def test_one_unpacked_copy_serves_every_host_without_training(tmp_path: Path) -> None:
    events: list[BuildProgress] = []
    paths = {
        build_checkpoint(
            python=namespace, cache_dir=tmp_path, tokenizer=False, progress=events.append
        ).path
        for namespace in default_python_namespaces()
    }
    assert len(paths) == 1
    assert {event.stage for event in events} == {BuildStage.UNPACK}
    (path,) = paths
    assert (path / "model.safetensors").is_file()
    assert not (path / "tokenizer.json").exists()
