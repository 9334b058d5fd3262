"""The tiny checkpoint's recipe: the runs it learns, how it is trained and checked, and a
fingerprint that changes whenever what it would train changes.

A checkpoint learns the runs of agents whose python tool shows one of its `namespaces`: the
python tool tells the model how the host isolates code, so its description differs between
hosts. The shipped checkpoint learns every description the default sandbox settings can show
(`default_python_namespaces`); the training runs are split between them and every held-out task
is checked under each.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from harmony_agent.sandbox import IsolationReport, SandboxConfig
from harmony_agent.tiny._dataset import Dataset, record_dataset, sample_tasks
from harmony_agent.tiny._progress import BuildProgress, BuildStage, ProgressCallback
from harmony_agent.tiny._report import TrainingReport
from harmony_agent.tiny._tasks import Task
from harmony_agent.tools import ToolNamespace
from harmony_agent.tools.python import describe

if TYPE_CHECKING:
    import torch
    from harmony_agent.tiny._training import CompactVocab, TrainingSettings
    from transformers import GptOssForCausalLM

__all__ = [
    "RECIPE_VERSION",
    "DataSettings",
    "Trained",
    "default_python_namespaces",
    "fingerprint",
    "train",
]

RECIPE_VERSION = 1
"""Bumped when a change to training or checking (here or in `_training`) changes the model it
makes while the fingerprinted runs and settings stay the same.
"""
_FINGERPRINT_RUNS = 64
"""How many runs per namespace the fingerprint hashes: any change in rendering shows there."""
_TRAIN_CHECK = 512
"""How many training runs are checked for exact reproduction after training."""


@dataclass(frozen=True)
class DataSettings:
    """How many distinct tasks to train on and to hold out."""

    train_size: int = 4096
    held_out_size: int = 256
    seed: int = 0


@dataclass(frozen=True)
class Trained:
    """A trained compact model: its weights, its vocabulary and how training went."""

    state: dict[str, torch.Tensor]
    vocab: CompactVocab
    report: TrainingReport


def default_python_namespaces() -> tuple[ToolNamespace, ...]:
    """Every namespace `PythonTool()` can show, whatever the host's isolation layers."""
    config = SandboxConfig()
    reports = (
        IsolationReport(
            bubblewrap=bubblewrap,
            unprivileged=unprivileged,
            cgroup_version=2 if capped else None,
            memory_capped=capped,
            processes_capped=capped,
        )
        for bubblewrap, unprivileged, capped in itertools.product((True, False), repeat=3)
    )
    descriptions = dict.fromkeys(describe(config, report) for report in reports)
    return tuple(ToolNamespace(name="python", description=text) for text in descriptions)


def fingerprint(
    namespaces: Sequence[ToolNamespace],
    data: DataSettings,
    settings: TrainingSettings | None = None,
) -> str:
    """A hash of what training for `namespaces` would learn: the first runs as tokens under
    each namespace (so any change in how the runtime renders prompts shows), the data
    settings, the model shape, the training `settings` (default `TrainingSettings()`) and
    `RECIPE_VERSION`.
    """
    from harmony_agent.tiny._training import ModelShape, TrainingSettings

    tasks = sample_tasks(seed=data.seed, size=_FINGERPRINT_RUNS)
    runs = [record_dataset(tasks, python=namespace) for namespace in namespaces]
    parts = (
        RECIPE_VERSION,
        asdict(data),
        asdict(ModelShape()),
        asdict(settings or TrainingSettings()),
        [[d.preamble, [[t.tokens, t.spans] for t in d.trajectories]] for d in runs],
    )
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def train(
    namespaces: Sequence[ToolNamespace],
    data: DataSettings,
    progress: ProgressCallback,
    settings: TrainingSettings | None = None,
) -> Trained:
    """Records the runs, trains the compact model on them with `settings` (default
    `TrainingSettings()`) and checks which held-out tasks it reproduces under every namespace
    (minutes on a CPU).
    """
    from harmony_agent.tiny import _training

    train_tasks = sample_tasks(seed=data.seed, size=data.train_size)
    held_out_tasks = sample_tasks(seed=data.seed + 1, size=data.held_out_size, exclude=train_tasks)
    count = len(namespaces)
    jobs = [(train_tasks[i::count], n) for i, n in enumerate(namespaces)]
    jobs += [(held_out_tasks, n) for n in namespaces]
    recorded = _record(jobs, progress)
    train_sets, held_out = recorded[:count], recorded[count:]
    vocab = _training.CompactVocab(train_sets)
    shape, settings = _training.ModelShape(), settings or _training.TrainingSettings()
    started = time.monotonic()
    model = _training.train(train_sets, vocab, shape, settings, progress)
    seconds = time.monotonic() - started
    checked = [Dataset(d.preamble, d.trajectories[: _TRAIN_CHECK // count]) for d in train_sets]
    unseen = [
        Dataset(d.preamble, tuple(t for t in d.trajectories if all(x in vocab for x in t.tokens)))
        for d in held_out
    ]
    verdicts = _check(model, vocab, [*checked, *unseen], progress)
    trained = [ok for runs in verdicts[:count] for ok in runs]
    passed = [
        {t.task for t, ok in zip(d.trajectories, runs, strict=True) if ok}
        for d, runs in zip(unseen, verdicts[count:], strict=True)
    ]
    verified = tuple(task for task in held_out_tasks if all(task in tasks for tasks in passed))
    report = TrainingReport(
        training_seconds=round(seconds, 1),
        compact_vocab=len(vocab),
        train_accuracy=sum(trained) / len(trained),
        held_out_accuracy=len(verified) / len(held_out_tasks),
        verified=verified,
    )
    return Trained(model.state_dict(), vocab, report)


def _record(
    jobs: Sequence[tuple[Sequence[Task], ToolNamespace]], progress: ProgressCallback
) -> list[Dataset]:
    """Records each job's tasks under its namespace; progress counts the runs of all jobs."""
    total = sum(len(tasks) for tasks, _ in jobs)
    datasets: list[Dataset] = []
    for tasks, namespace in jobs:
        before = sum(len(d.trajectories) for d in datasets)

        def step(event: BuildProgress, before: int = before) -> None:
            progress(BuildProgress(BuildStage.RECORD, before + event.done, total))

        datasets.append(record_dataset(tasks, python=namespace, progress=step))
    return datasets


def _check(
    model: GptOssForCausalLM,
    vocab: CompactVocab,
    datasets: Sequence[Dataset],
    progress: ProgressCallback,
) -> list[list[bool]]:
    """`evaluate`'s verdicts for each data set; progress counts the batches of all of them."""
    from harmony_agent.tiny._training import EVALUATION_BATCH, evaluate_batches

    total = sum(math.ceil(len(d.trajectories) / EVALUATION_BATCH) for d in datasets)
    done = 0
    progress(BuildProgress(BuildStage.CHECK, done, total))
    verdicts: list[list[bool]] = []
    for dataset in datasets:
        verdicts.append([])
        for batch in evaluate_batches(model, vocab, dataset):
            verdicts[-1].extend(batch)
            done += 1
            progress(BuildProgress(BuildStage.CHECK, done, total))
    return verdicts
