"""Finding the tiny checkpoint in the cache, or putting it there: unpacked from the package, or
trained.

The package ships a checkpoint trained for the python tool's default settings on any host
(`_shipped`): unpacking it takes seconds, under a key that hashes its files. Other python
namespaces or data settings train one from runs of the agent loop (minutes on a CPU), under a
key that is the fingerprint of its recipe. The tokenizer files come from harmony's vocabulary,
not from training, and are written when asked for.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harmony_agent.tiny import _recipe
from harmony_agent.tiny._progress import (
    BuildProgress,
    BuildStage,
    ProgressCallback,
    ignore_progress,
)
from harmony_agent.tiny._recipe import DataSettings
from harmony_agent.tiny._report import TrainingReport
from harmony_agent.tiny._shipped import read_shipped
from harmony_agent.tiny._tasks import Task
from harmony_agent.tools import ToolNamespace

__all__ = ["TinyCheckpoint", "build_checkpoint", "default_cache_dir"]

_FORMAT = 4
"""Bumped when the layout of a cached checkpoint changes."""
_REPORT = "training.json"
_TOKENIZER = "tokenizer.json"


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
    train: bool = False,
    tokenizer: bool = True,
    progress: ProgressCallback | None = None,
) -> TinyCheckpoint:
    """Returns the tiny checkpoint for agents whose python tool shows `python`.

    The shipped checkpoint serves the python tool's default settings on any host: unpacked
    into the cache the first time (seconds). Another namespace, other `data` settings or
    `train=True` train one from runs of the agent loop the first time (minutes on a CPU).
    `tokenizer=False` leaves out the tokenizer files where they are not there yet (vLLM reads
    them only for structured outputs). Safe to call from several processes at once: one
    builds, the others wait for it. `progress` hears each stage and step of the building.
    """
    data = data or DataSettings()
    report = progress or ignore_progress
    root = (cache_dir or default_cache_dir()) / "tiny-gpt-oss"
    build: Callable[[Path], TrainingReport]
    shipped = read_shipped()
    if not train and data == DataSettings() and python in shipped.namespaces:
        target = root / f"shipped-{_FORMAT}-{shipped.key}"

        def build(staging: Path) -> TrainingReport:
            report(BuildProgress(BuildStage.UNPACK, 0, 1))
            shipped.unpack(staging)
            report(BuildProgress(BuildStage.UNPACK, 1, 1))
            return shipped.report

    else:
        target = root / f"trained-{_FORMAT}-{_recipe.fingerprint([python], data)}"

        def build(staging: Path) -> TrainingReport:
            from harmony_agent.tiny import _training

            trained = _recipe.train([python], data, report)
            _training.export(trained.state, trained.vocab, _training.ModelShape(), staging)
            return trained.report

    with _locked(root):
        if not (target / _REPORT).exists():
            _stage(target, lambda staging: _write_report(staging, build(staging)))
        if tokenizer and not (target / _TOKENIZER).exists():
            _add_tokenizer(target, report)
    built = TrainingReport.from_json(json.loads((target / _REPORT).read_text()))
    return TinyCheckpoint(
        path=target,
        training_seconds=built.training_seconds,
        train_accuracy=built.train_accuracy,
        held_out_accuracy=built.held_out_accuracy,
        verified=built.verified,
    )


def _write_report(directory: Path, report: TrainingReport) -> None:
    (directory / _REPORT).write_text(json.dumps(report.to_json(), indent=2))


def _stage(target: Path, write: Callable[[Path], None]) -> None:
    """Writes the checkpoint into a staging directory, then moves it to `target` at once."""
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        write(staging)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _add_tokenizer(target: Path, progress: ProgressCallback) -> None:
    from harmony_agent.tiny._tokenizer import save_harmony_tokenizer

    progress(BuildProgress(BuildStage.TOKENIZER, 0, 1))
    staging = Path(tempfile.mkdtemp(prefix=".tokenizer-", dir=target.parent))
    try:
        save_harmony_tokenizer(staging)
        # tokenizer.json last: once it is there, the tokenizer is complete
        for file in sorted(staging.iterdir(), key=lambda f: f.name == _TOKENIZER):
            file.rename(target / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(BuildProgress(BuildStage.TOKENIZER, 1, 1))


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
