"""What building the tiny checkpoint reports while it works: stages and their steps.

Building never prints; whoever calls it passes a callback (the CLI draws progress bars).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

__all__ = ["BuildProgress", "BuildStage", "ProgressCallback", "ignore_progress"]


class BuildStage(Enum):
    """A stage of building the tiny checkpoint; its value says what it does, in words."""

    RECORD = "Recording agent runs"
    TRAIN = "Training the tiny checkpoint"
    CHECK = "Checking the trained runs"
    UNPACK = "Unpacking the tiny checkpoint"
    TOKENIZER = "Writing the tokenizer"


@dataclass(frozen=True)
class BuildProgress:
    """`done` of `total` steps of `stage`; `detail` says more (the training loss)."""

    stage: BuildStage
    done: int
    total: int
    detail: str = ""


ProgressCallback = Callable[[BuildProgress], None]
"""Called from the building thread at the start of each stage and after each of its steps."""


def ignore_progress(progress: BuildProgress) -> None:
    """A `ProgressCallback` that does nothing."""
