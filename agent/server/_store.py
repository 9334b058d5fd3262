"""The response store: stored responses (for `previous_response_id`) and the record of the
segments the server generated (to restore their exact tokens when a client replays them), in
one SQLite file. Every write is committed before the response that made it is returned.

Both are bounded by a `Retention`: what is older than its age is neither returned nor kept,
and each write evicts the oldest responses and segments beyond their counts, so a
long-running server's store does not grow without limit.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmony_agent._history import Entry, History
from harmony_agent._messages import Message

__all__ = ["Retention", "Store", "StoredResponse", "entries_from_json", "entries_to_json"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    history TEXT NOT NULL,
    pending_call_id TEXT
);
CREATE TABLE IF NOT EXISTS segments (
    key TEXT PRIMARY KEY,
    entries TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_created_at ON responses (created_at);
CREATE INDEX IF NOT EXISTS segments_created_at ON segments (created_at);
"""


@dataclass(frozen=True)
class Retention:
    """How much the store keeps: at most `max_responses` stored responses and `max_segments`
    recorded segments (the newest), none older than `max_age_s` seconds.
    """

    max_responses: int = 1_000
    max_segments: int = 10_000
    max_age_s: int = 30 * 24 * 3600


@dataclass(frozen=True)
class StoredResponse:
    """A stored response: its model, its JSON body, the conversation after it (tokens), and the
    id of the client call it stopped at, if any.
    """

    id: str
    model: str
    body: dict[str, Any]
    history: History
    pending_call_id: str | None


def entries_to_json(entries: tuple[Entry, ...] | list[Entry]) -> str:
    """Entries as compact JSON: `[author, text, channel, recipient, content_type, tokens]`."""
    return json.dumps(
        [
            [
                e.message.author,
                e.message.text,
                e.message.channel,
                e.message.recipient,
                e.message.content_type,
                list(e.tokens),
            ]
            for e in entries
        ],
        separators=(",", ":"),
    )


def entries_from_json(text: str) -> tuple[Entry, ...]:
    """The entries `entries_to_json` wrote."""
    return tuple(
        Entry(Message(author, body, channel, recipient, content_type), tuple(tokens))
        for author, body, channel, recipient, content_type, tokens in json.loads(text)
    )


class Store:
    """The SQLite store at `path` (`:memory:` keeps nothing across restarts), keeping what
    `retention` allows (`clock` tells the time in seconds). Its calls run in a worker thread,
    one at a time, so the event loop never waits on the disk.
    """

    def __init__(
        self,
        path: Path | str,
        retention: Retention = Retention(),
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = str(path)
        self._retention = retention
        self._clock = clock
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def open(self) -> Store:
        """Opens (and creates) the database."""
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.executescript(_SCHEMA)
        self._connection = connection
        return self

    def close(self) -> None:
        """Closes the database."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def save(
        self,
        response: StoredResponse | None,
        segments: dict[str, tuple[Entry, ...]],
    ) -> None:
        """Writes a response (None: not stored) and segments in one transaction."""
        await asyncio.to_thread(self._save, response, segments)

    async def response(self, response_id: str) -> StoredResponse | None:
        """The stored response with this id, or None."""
        return await asyncio.to_thread(self._response, response_id)

    async def segment(self, key: str) -> tuple[Entry, ...] | None:
        """The generated entries recorded under `key`, or None."""
        return await asyncio.to_thread(self._segment, key)

    async def delete(self, response_id: str) -> bool:
        """Deletes the stored response with this id; whether there was one."""
        return await asyncio.to_thread(self._delete, response_id)

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("the store is not open")
        return self._connection

    def _save(
        self, response: StoredResponse | None, segments: dict[str, tuple[Entry, ...]]
    ) -> None:
        now = int(self._clock())
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                if response is not None:
                    db.execute(
                        "INSERT INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            response.id,
                            response.model,
                            now,
                            json.dumps(response.body, separators=(",", ":")),
                            entries_to_json(response.history.entries),
                            response.pending_call_id,
                        ),
                    )
                db.executemany(
                    "INSERT OR REPLACE INTO segments VALUES (?, ?, ?)",
                    [(key, entries_to_json(entries), now) for key, entries in segments.items()],
                )
                self._evict(db, now)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _evict(self, db: sqlite3.Connection, now: int) -> None:
        """Deletes what is older than the retention's age, then the oldest beyond its counts
        (rowid: the order of the writes, a rewritten segment counting as new).
        """
        oldest = now - self._retention.max_age_s
        for table, keep in (
            ("responses", self._retention.max_responses),
            ("segments", self._retention.max_segments),
        ):
            db.execute(f"DELETE FROM {table} WHERE created_at < ?", (oldest,))
            db.execute(
                f"DELETE FROM {table} WHERE rowid IN "
                f"(SELECT rowid FROM {table} ORDER BY rowid DESC LIMIT -1 OFFSET ?)",
                (keep,),
            )

    def _oldest(self) -> int:
        """The creation time of the oldest entry the retention still returns."""
        return int(self._clock()) - self._retention.max_age_s

    def _response(self, response_id: str) -> StoredResponse | None:
        with self._lock:
            row = (
                self._db()
                .execute(
                    "SELECT id, model, body, history, pending_call_id FROM responses "
                    "WHERE id = ? AND created_at >= ?",
                    (response_id, self._oldest()),
                )
                .fetchone()
            )
        if row is None:
            return None
        return StoredResponse(
            row[0], row[1], json.loads(row[2]), History(entries_from_json(row[3])), row[4]
        )

    def _segment(self, key: str) -> tuple[Entry, ...] | None:
        with self._lock:
            row = (
                self._db()
                .execute(
                    "SELECT entries FROM segments WHERE key = ? AND created_at >= ?",
                    (key, self._oldest()),
                )
                .fetchone()
            )
        return None if row is None else entries_from_json(row[0])

    def _delete(self, response_id: str) -> bool:
        with self._lock:
            cursor = self._db().execute("DELETE FROM responses WHERE id = ?", (response_id,))
        return cursor.rowcount > 0
