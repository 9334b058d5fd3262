"""The servers an HTTP engine spreads its requests over: a run's requests stay on one replica."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

__all__ = ["Replica", "ReplicaPool"]


@dataclass
class Replica:
    """One server: its base URL, its requests in flight, and until when it is skipped."""

    url: str
    outstanding: int = 0
    failing_until: float = 0.0


class ReplicaPool:
    """Picks a replica for each request, skipping recently failed ones.

    A request with a key (its run's, see `run_key`) goes where the key's rendezvous hash
    ranks highest among the replicas that may take it, so every request of a run lands on the
    same replica and finds its earlier turns in that replica's prefix cache; a replica that
    goes down moves only its own runs (each to the next replica in its own ranking) and takes
    them back when it returns. The next replica in the run's ranking is also taken when the
    preferred one has `max_outstanding` requests in flight. When every replica may take it
    but all are at the cap, the least loaded one takes the request (ties in the run's ranking)
    rather than the request waiting here: the cap is where a run leaves its replica, not a
    limit on requests, and the servers queue what they cannot run yet.

    A request without a key goes to the replica with the fewest requests in flight, ties
    round robin. A replica marked failed is skipped for `cooldown_s` seconds, and a request's
    retry avoids the replicas it already tried, unless no other replica is left: then the one
    that failed longest ago is tried.
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        cooldown_s: float,
        max_outstanding: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.replicas = [Replica(url) for url in urls]
        self._cooldown_s = cooldown_s
        self._max_outstanding = max_outstanding
        self._clock = clock
        self._turn = itertools.count()

    def acquire(self, key: bytes | None = None, avoid: Collection[str] = ()) -> Replica:
        """Picks a replica for a request of the run `key` (None: no run), preferring those
        whose URL is not in `avoid`, and counts a request in flight on it; `release` it when
        done.
        """
        now = self._clock()
        healthy = [r for r in self.replicas if r.failing_until <= now and r.url not in avoid]
        if not healthy:
            replica = min(self.replicas, key=lambda r: r.failing_until)
        elif key is None:
            fewest = min(r.outstanding for r in healthy)
            tied = [r for r in healthy if r.outstanding == fewest]
            replica = tied[next(self._turn) % len(tied)]
        else:
            ranked = sorted(healthy, key=lambda r: _weight(key, r.url), reverse=True)
            cap = self._max_outstanding
            with_room = [r for r in ranked if cap is None or r.outstanding < cap]
            replica = with_room[0] if with_room else min(ranked, key=lambda r: r.outstanding)
        replica.outstanding += 1
        return replica

    def release(self, replica: Replica) -> None:
        """Ends a request on `replica`."""
        replica.outstanding -= 1

    def mark_failed(self, replica: Replica) -> None:
        """Skips `replica` for the cooldown period."""
        replica.failing_until = self._clock() + self._cooldown_s

    def mark_healthy(self, replica: Replica) -> None:
        """Ends the cooldown of `replica` after it answered."""
        replica.failing_until = 0.0

    def has_healthy(self, avoid: Collection[str] = ()) -> bool:
        """Whether some replica whose URL is not in `avoid` is outside its cooldown."""
        now = self._clock()
        return any(r.failing_until <= now and r.url not in avoid for r in self.replicas)


def _weight(key: bytes, url: str) -> int:
    """The rendezvous (highest random weight) score of replica `url` for the run `key`."""
    digest = hashlib.blake2b(url.encode(), key=key[:64], digest_size=8).digest()
    return int.from_bytes(digest, "big")
