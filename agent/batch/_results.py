"""The results file: one JSON line per finished task, appended and synced as each ends.

A line is written with a single `write` on a file opened for appending and then synced, so
a process killed at any moment leaves whole lines (and at worst one cut-off last line, which
the next open removes: that task had not finished and runs again).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["ResultsFile"]


class ResultsFile:
    """Appends results to `path` and knows which task ids are already done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def open(self) -> set[str]:
        """Opens the file for appending and returns the ids of the results already in it.

        A last line without its newline (a write cut off by a crash) is removed.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        done: set[str] = set()
        if self.path.exists():
            data = self.path.read_bytes()
            complete = data[: data.rfind(b"\n") + 1]
            if len(complete) != len(data):
                with self.path.open("r+b") as file:
                    file.truncate(len(complete))
            for line in complete.splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("id"), str):
                    done.add(record["id"])
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return done

    def append(self, record: dict[str, Any]) -> None:
        """Writes one result line and syncs it to disk."""
        if self._fd is None:
            raise RuntimeError("ResultsFile.append before open()")
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def close(self) -> None:
        """Closes the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
