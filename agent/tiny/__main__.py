"""`python -m harmony_agent.tiny DIRECTORY`: trains the shipped tiny checkpoint again and writes
its two files into DIRECTORY; `make tiny-checkpoint` rewrites the package's own (agent/tiny).

Run it when the test of the shipped checkpoint says that its recipe changed: it records the
runs, trains (tens of minutes on a 2-core CPU) and prints how far it got every few seconds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from harmony_agent.tiny._progress import BuildProgress, BuildStage
from harmony_agent.tiny._recipe import DataSettings, default_python_namespaces, fingerprint, train
from harmony_agent.tiny._shipped import write_shipped

_EVERY_S = 10.0
"""How often a stage in progress prints a line."""


class _ProgressLines:
    """Prints a line when a stage starts and ends, and every `_EVERY_S` seconds in between."""

    def __init__(self) -> None:
        self._stage: BuildStage | None = None
        self._started = self._printed = 0.0

    def __call__(self, event: BuildProgress) -> None:
        now = time.monotonic()
        if event.stage is not self._stage:
            self._stage, self._started = event.stage, now
        elif event.done < event.total and now - self._printed < _EVERY_S:
            return
        self._printed = now
        elapsed = now - self._started
        left = elapsed / event.done * (event.total - event.done) if event.done else None
        times = f"{elapsed:.0f} s" + ("" if left is None else f", {left:.0f} s left")
        print(f"{event.stage.value}: {event.done}/{event.total} {event.detail} ({times})")


def main() -> None:
    """Trains the shipped checkpoint and writes it into the directory given."""
    parser = argparse.ArgumentParser(prog="python -m harmony_agent.tiny", description=__doc__)
    parser.add_argument("directory", type=Path, help="where to write the checkpoint's files")
    directory: Path = parser.parse_args().directory
    namespaces, data = default_python_namespaces(), DataSettings()
    trained = train(namespaces, data, _ProgressLines())
    shipped = write_shipped(directory, trained, namespaces, fingerprint(namespaces, data))
    report = shipped.report
    print(
        f"wrote {directory}: {len(shipped.weights) / 1e6:.1f} MB of weights, "
        f"{report.compact_vocab} token ids, trained in {report.training_seconds:.0f} s, "
        f"{report.train_accuracy:.1%} of training runs and {report.held_out_accuracy:.1%} of "
        f"held-out tasks reproduced under all {len(namespaces)} python descriptions"
    )


if __name__ == "__main__":
    main()
