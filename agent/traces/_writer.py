"""`TraceWriter`: an event listener that appends each event of a run to a JSONL file."""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast

from harmony_agent._events import Event
from harmony_agent._redact import Redactor
from harmony_agent.traces._records import ErrorRecord, Record, RunStartedRecord, event_record

__all__ = ["TraceWriter", "read_trace"]


class TraceWriter:
    """Writes a JSONL trace: one JSON object per line, each with `ts` (UTC, ISO 8601),
    `elapsed_s` since the run started, `run` (the run's number in this file) and `type`.

    Pass it as `on_event` (`agent.run(prompt, on_event=writer)`); call `start` before each
    run and `error` when one fails. Streamed text deltas are left out (the messages hold the
    same text). Secrets are replaced with `[REDACTED]`. Lines are flushed as written, so a
    trace survives a crash up to the last event.
    """

    def __init__(self, path: str | os.PathLike[str], *, secrets: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self._redactor = Redactor(secrets)
        self._file: IO[str] | None = None
        self._runs = 0
        self._started = time.monotonic()

    def open(self) -> TraceWriter:
        """Opens the file for appending (creating its directory)."""
        if self._file is None:
            self._opened()
        return self

    def close(self) -> None:
        """Closes the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> TraceWriter:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(self, prompt: str, **details: Any) -> None:
        """Marks the start of a run on `prompt`; `details` (e.g. the engine) are recorded."""
        self._runs += 1
        self._started = time.monotonic()
        started: RunStartedRecord = {"type": "run_started", "prompt": prompt}
        self.write({**started, **details})

    def __call__(self, event: Event) -> None:
        record = event_record(event)
        if record["type"] != "text_delta":
            self.write(record)

    def error(self, error: BaseException) -> None:
        """Records that the run failed with `error`."""
        failed: ErrorRecord = {"type": "error", "kind": type(error).__name__, "message": str(error)}
        self.write(failed)

    def write(self, record: Mapping[str, Any]) -> None:
        """Appends one record (stamped and redacted) and flushes it; a run writes `Record`s."""
        stamped = {
            "ts": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
            "elapsed_s": round(time.monotonic() - self._started, 4),
            "run": self._runs,
            **record,
        }
        line = json.dumps(self._redactor.value(stamped), ensure_ascii=False)
        file = self._file if self._file is not None else self._opened()
        file.write(line + "\n")
        file.flush()

    def _opened(self) -> IO[str]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        return self._file


def read_trace(path: str | os.PathLike[str]) -> Iterator[Record]:
    """The records of a trace file, in order; a line that is not JSON raises ValueError
    naming its line number. Only `type` is checked: a hand-made file may hold other fields
    than a run writes.
    """
    with Path(path).open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not a JSON line ({error.msg})") from None
            if not isinstance(record, dict) or "type" not in record:
                raise ValueError(f"{path}:{number}: not a trace record")
            yield cast(Record, record)
