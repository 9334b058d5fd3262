"""The servers an HTTP engine spreads its requests over, least outstanding requests first."""

from __future__ import annotations

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
    """Picks the replica with the fewest requests in flight, skipping recently failed ones.

    Ties go round robin. A replica marked failed is skipped for `cooldown_s` seconds, and a
    request's retry avoids the replicas it already tried, unless no other replica is left: then
    the one that failed longest ago is tried.
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.replicas = [Replica(url) for url in urls]
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._turn = itertools.count()

    def acquire(self, avoid: Collection[str] = ()) -> Replica:
        """Picks a replica, preferring those whose URL is not in `avoid`, and counts a request
        in flight on it; `release` it when done.
        """
        now = self._clock()
        healthy = [r for r in self.replicas if r.failing_until <= now and r.url not in avoid]
        if healthy:
            fewest = min(r.outstanding for r in healthy)
            tied = [r for r in healthy if r.outstanding == fewest]
            replica = tied[next(self._turn) % len(tied)]
        else:
            replica = min(self.replicas, key=lambda r: r.failing_until)
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
