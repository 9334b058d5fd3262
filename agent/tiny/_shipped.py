"""The tiny checkpoint shipped in the package, in its compact vocabulary.

`checkpoint.safetensors` holds the compact model (a row for each of the k token ids its runs
use, and one for all others, about 5 MB); `checkpoint.json` holds those ids, the python tool
descriptions it learnt, the fingerprint of the recipe that trained it and its training
report. Unpacked, it is the same full-vocabulary checkpoint that training writes (seconds).
`make tiny-checkpoint` trains it again and rewrites both files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from harmony_agent.tiny._recipe import Trained
from harmony_agent.tiny._report import TrainingReport
from harmony_agent.tools import ToolNamespace

__all__ = ["ShippedCheckpoint", "read_shipped", "write_shipped"]

_WEIGHTS = "checkpoint.safetensors"
_DESCRIPTION = "checkpoint.json"


@dataclass(frozen=True)
class ShippedCheckpoint:
    """A compact checkpoint as shipped: weights (safetensors bytes), the token ids of its rows,
    the python namespaces it learnt, its recipe's fingerprint and its training report.
    """

    weights: bytes
    vocab_ids: tuple[int, ...]
    namespaces: tuple[ToolNamespace, ...]
    fingerprint: str
    report: TrainingReport

    @property
    def key(self) -> str:
        """A hash of the weights and the description: the same on every host."""
        digest = hashlib.sha256(self.weights)
        digest.update(json.dumps(_description(self), sort_keys=True).encode())
        return digest.hexdigest()[:16]

    def unpack(self, directory: Path) -> None:
        """Writes the full-vocabulary checkpoint (config and weights) into `directory`."""
        from harmony_agent.tiny import _training
        from safetensors.torch import load

        vocab = _training.CompactVocab(ids=self.vocab_ids)
        _training.export(load(self.weights), vocab, _training.ModelShape(), directory)


def read_shipped(directory: Traversable | None = None) -> ShippedCheckpoint:
    """The checkpoint in `directory` (default: the one in this package)."""
    directory = directory or resources.files(__package__)
    description = json.loads((directory / _DESCRIPTION).read_text(encoding="utf-8"))
    return ShippedCheckpoint(
        weights=(directory / _WEIGHTS).read_bytes(),
        vocab_ids=tuple(description["vocab_ids"]),
        namespaces=tuple(
            ToolNamespace(name="python", description=text)
            for text in description["python_descriptions"]
        ),
        fingerprint=description["fingerprint"],
        report=TrainingReport.from_json(description["report"]),
    )


def write_shipped(
    directory: Path, trained: Trained, namespaces: tuple[ToolNamespace, ...], fingerprint: str
) -> ShippedCheckpoint:
    """Writes `trained` into `directory` as a shipped checkpoint, and returns it."""
    from safetensors.torch import save

    shipped = ShippedCheckpoint(
        weights=save({name: t.contiguous() for name, t in trained.state.items()}),
        vocab_ids=trained.vocab.ids,
        namespaces=namespaces,
        fingerprint=fingerprint,
        report=trained.report,
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / _WEIGHTS).write_bytes(shipped.weights)
    text = json.dumps(_description(shipped), indent=1, ensure_ascii=False)
    (directory / _DESCRIPTION).write_text(text + "\n", encoding="utf-8")
    return shipped


def _description(shipped: ShippedCheckpoint) -> dict[str, object]:
    return {
        "fingerprint": shipped.fingerprint,
        "python_descriptions": [namespace.description for namespace in shipped.namespaces],
        "vocab_ids": list(shipped.vocab_ids),
        "report": shipped.report.to_json(),
    }
