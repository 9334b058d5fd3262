"""How training a tiny checkpoint went, as it is stored next to the weights."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harmony_agent.tiny._tasks import ProductTask, Task, WeatherTask

__all__ = ["TrainingReport"]

_KINDS: dict[str, type[WeatherTask] | type[ProductTask]] = {
    kind.__name__: kind for kind in (WeatherTask, ProductTask)
}


@dataclass(frozen=True)
class TrainingReport:
    """The training time, the compact vocabulary's size, the share of training runs and of
    held-out runs the model reproduces, and the held-out tasks it reproduces (`verified`).
    """

    training_seconds: float
    compact_vocab: int
    train_accuracy: float
    held_out_accuracy: float
    verified: tuple[Task, ...]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON values."""
        return {
            "training_seconds": self.training_seconds,
            "compact_vocab": self.compact_vocab,
            "train_accuracy": self.train_accuracy,
            "held_out_accuracy": self.held_out_accuracy,
            "verified": [
                {"kind": type(task).__name__, **dataclasses.asdict(task)} for task in self.verified
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainingReport:
        """The report `to_json` wrote."""
        verified = tuple(
            _KINDS[entry["kind"]](**{k: v for k, v in entry.items() if k != "kind"})
            for entry in data["verified"]
        )
        return cls(
            training_seconds=data["training_seconds"],
            compact_vocab=data["compact_vocab"],
            train_accuracy=data["train_accuracy"],
            held_out_accuracy=data["held_out_accuracy"],
            verified=verified,
        )
