"""Building the tiny checkpoint once and finding it again: a cache keyed by content hash.

The key hashes the training data (the token ids the agent loop produced, so any change in how
the runtime renders prompts retrains), the model shape and the training settings. The
tokenizer files come from harmony's vocabulary, not from training: a cached checkpoint
without them gets them added.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harmony_agent.tiny._dataset import Dataset, make_dataset
from harmony_agent.tiny._tasks import ProductTask, Task, WeatherTask
from harmony_agent.tools import ToolNamespace

if TYPE_CHECKING:
    from harmony_agent.tiny._training import ModelShape, TrainingSettings

__all__ = ["DataSettings", "TinyCheckpoint", "build_checkpoint", "default_cache_dir"]

_FORMAT = 3
"""Bumped when the layout of a cached checkpoint changes."""
_REPORT = "training.json"
_TOKENIZER = "tokenizer.json"
_KEY_SAMPLE = 64
"""How many of the training runs the cache key hashes."""
_TRAIN_CHECK = 512
"""How many training runs are checked for exact reproduction after training."""


@dataclass(frozen=True)
class DataSettings:
    """How many distinct tasks to train on and to hold out."""

    train_size: int = 4096
    held_out_size: int = 256
    seed: int = 0


@dataclass(frozen=True)
class TinyCheckpoint:
    """A built checkpoint: its directory and how its training went.

    `verified` are held-out tasks (never trained on) whose whole run greedy decoding
    reproduces exactly and with a clear margin, checked on the trained model before export.
    """

    path: Path
    training_seconds: float
    train_accuracy: float
    held_out_accuracy: float
    verified: tuple[Task, ...]


def default_cache_dir() -> Path:
    """`$HARMONY_AGENT_CACHE`, else `$XDG_CACHE_HOME/harmony-agent`, else ~/.cache/harmony-agent."""
    explicit = os.environ.get("HARMONY_AGENT_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "harmony-agent"


def build_checkpoint(
    *,
    python: ToolNamespace,
    cache_dir: Path | None = None,
    data: DataSettings | None = None,
) -> TinyCheckpoint:
    """Returns the tiny checkpoint for agents whose python tool shows `python`, training it
    first if the cache does not hold it (minutes on a CPU). Safe to call from several
    processes at once: one trains, the others wait for it.
    """
    from harmony_agent.tiny import _training  # torch and transformers: the cpu extra

    data = data or DataSettings()
    shape, settings = _training.ModelShape(), _training.TrainingSettings()
    # The key covers how the runtime renders these runs: the first trajectories show any change.
    sample = make_dataset(seed=data.seed, size=_KEY_SAMPLE, python=python)
    key = _content_key(sample, asdict(data), asdict(shape), asdict(settings))
    root = (cache_dir or default_cache_dir()) / "tiny-gpt-oss"
    target = root / key
    with _locked(root):
        if not (target / _REPORT).exists():
            train_set = make_dataset(seed=data.seed, size=data.train_size, python=python)
            held_out = make_dataset(
                seed=data.seed + 1,
                size=data.held_out_size,
                python=python,
                exclude=[t.task for t in train_set.trajectories],
            )
            _build(target, train_set, held_out, shape, settings)
        if not (target / _TOKENIZER).exists():
            _add_tokenizer(target)
    report = json.loads((target / _REPORT).read_text())
    return TinyCheckpoint(
        path=target,
        training_seconds=report["training_seconds"],
        train_accuracy=report["train_accuracy"],
        held_out_accuracy=report["held_out_accuracy"],
        verified=tuple(_task(entry) for entry in report["verified"]),
    )


def _build(
    target: Path,
    train_set: Dataset,
    held_out: Dataset,
    shape: ModelShape,
    settings: TrainingSettings,
) -> None:
    from harmony_agent.tiny import _training

    vocab = _training.CompactVocab(train_set)
    unseen = Dataset(
        held_out.preamble,
        tuple(t for t in held_out.trajectories if all(token in vocab for token in t.tokens)),
    )
    started = time.monotonic()
    model = _training.train(train_set, vocab, shape, settings)
    seconds = time.monotonic() - started
    trained = _training.evaluate(
        model, vocab, Dataset(train_set.preamble, train_set.trajectories[:_TRAIN_CHECK])
    )
    verdicts = _training.evaluate(model, vocab, unseen)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        _training.export(model, vocab, shape, staging)
        report = {
            "training_seconds": round(seconds, 1),
            "compact_vocab": len(vocab),
            "train_accuracy": sum(trained) / len(trained),
            "held_out_accuracy": sum(verdicts) / len(held_out.trajectories),
            "verified": [
                _entry(t.task) for t, ok in zip(unseen.trajectories, verdicts, strict=True) if ok
            ],
        }
        (staging / _REPORT).write_text(json.dumps(report, indent=2))
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _add_tokenizer(target: Path) -> None:
    from harmony_agent.tiny._tokenizer import save_harmony_tokenizer

    staging = Path(tempfile.mkdtemp(prefix=".tokenizer-", dir=target.parent))
    try:
        save_harmony_tokenizer(staging)
        # tokenizer.json last: once it is there, the tokenizer is complete
        for file in sorted(staging.iterdir(), key=lambda f: f.name == _TOKENIZER):
            file.rename(target / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _entry(task: Task) -> dict[str, object]:
    return {"kind": type(task).__name__, **dataclasses.asdict(task)}


def _task(entry: dict[str, object]) -> Task:
    fields = {key: value for key, value in entry.items() if key != "kind"}
    kind = WeatherTask if entry["kind"] == WeatherTask.__name__ else ProductTask
    return kind(**fields)  # type: ignore[arg-type]


def _content_key(*parts: object) -> str:
    digest = hashlib.sha256(str(_FORMAT).encode())
    for part in parts:
        digest.update(json.dumps(part, default=_plain, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _plain(value: object) -> object:
    if isinstance(value, Dataset):
        return [value.preamble, [[t.tokens, t.spans] for t in value.trajectories]]
    raise TypeError(f"cannot hash {type(value).__name__}")


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
