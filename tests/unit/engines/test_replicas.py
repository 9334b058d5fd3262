"""ReplicaPool: a run's requests stay on one replica (rendezvous hashing on its key), spilling
in the run's own ranking past failed replicas and replicas at the cap; without a key, least
outstanding requests first, round robin on ties.
"""

from __future__ import annotations

import collections

from harmony_agent.engines._replicas import ReplicaPool

URLS = ["http://a/v1", "http://b/v1", "http://c/v1"]
KEYS = [f"run-{n}".encode() for n in range(300)]
"""Fixed keys: every assertion about their spread is deterministic."""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def placement(pool: ReplicaPool, keys: list[bytes]) -> dict[bytes, str]:
    """Where each key's request goes when nothing else is in flight."""
    placed = {}
    for key in keys:
        replica = pool.acquire(key)
        pool.release(replica)
        placed[key] = replica.url
    return placed


def test_least_outstanding_then_round_robin() -> None:
    pool = ReplicaPool(["a", "b", "c"], cooldown_s=5, clock=Clock())
    first = [pool.acquire().url for _ in range(3)]
    assert sorted(first) == ["a", "b", "c"]
    b = pool.replicas[1]
    pool.release(b)
    assert pool.acquire() is b
    for replica in pool.replicas:
        pool.release(replica)
    assert len({pool.acquire().url, pool.acquire().url}) == 2


def test_failed_replica_is_skipped_until_its_cooldown_ends() -> None:
    clock = Clock()
    pool = ReplicaPool(["a", "b"], cooldown_s=5, clock=clock)
    a, b = pool.replicas
    pool.mark_failed(a)
    assert [pool.acquire() for _ in range(3)] == [b, b, b]
    clock.now += 5
    assert pool.acquire() is a


def test_when_all_fail_the_one_failed_longest_ago_is_tried() -> None:
    clock = Clock()
    pool = ReplicaPool(["a", "b"], cooldown_s=5, clock=clock)
    a, b = pool.replicas
    pool.mark_failed(b)
    clock.now += 1
    pool.mark_failed(a)
    assert not pool.has_healthy()
    assert pool.acquire() is b
    assert pool.acquire(b"run") is b
    pool.mark_healthy(a)
    assert pool.has_healthy()
    assert pool.acquire() is a


def test_a_retry_avoids_the_replicas_it_tried() -> None:
    pool = ReplicaPool(["a", "b"], cooldown_s=0, clock=Clock())
    a, b = pool.replicas
    pool.mark_failed(a)  # a cooldown of 0 skips nothing ...
    assert pool.has_healthy(avoid={"a"})
    assert pool.acquire(avoid={"a"}) is b  # ... but the retry goes elsewhere
    assert not pool.has_healthy(avoid={"a", "b"})


def test_a_runs_requests_stay_on_one_replica_whatever_the_load() -> None:
    pool = ReplicaPool(URLS, cooldown_s=5, clock=Clock())
    home = pool.acquire(b"run-1")
    assert all(pool.acquire(b"run-1") is home for _ in range(5))  # no cap: load does not move it
    assert placement(ReplicaPool(URLS, cooldown_s=5), [b"run-1"])[b"run-1"] == home.url


def test_runs_spread_over_the_replicas() -> None:
    counts = collections.Counter(placement(ReplicaPool(URLS, cooldown_s=5), KEYS).values())
    assert set(counts) == set(URLS)
    assert all(count >= 70 for count in counts.values()), counts  # 100 each on average


def test_a_replica_going_down_moves_only_its_own_runs() -> None:
    clock = Clock()
    pool = ReplicaPool(URLS, cooldown_s=5, clock=clock)
    before = placement(pool, KEYS)
    pool.mark_failed(pool.replicas[0])
    during = placement(pool, KEYS)
    moved = {key for key in KEYS if during[key] != before[key]}
    assert moved == {key for key in KEYS if before[key] == URLS[0]}
    assert {during[key] for key in moved} == {URLS[1], URLS[2]}  # its runs spread too
    clock.now += 5
    assert placement(pool, KEYS) == before  # back up, its runs come back


def test_a_retry_goes_to_the_next_replica_in_the_runs_ranking() -> None:
    pool = ReplicaPool(URLS, cooldown_s=5, clock=Clock())
    home = placement(pool, [b"run-1"])[b"run-1"]
    second = pool.acquire(b"run-1", avoid={home})
    pool.release(second)
    pool.mark_failed(pool.replicas[URLS.index(home)])
    assert pool.acquire(b"run-1") is second  # a down home spills where a retry went


def test_a_replica_at_the_cap_spills_to_the_runs_next_replica() -> None:
    pool = ReplicaPool(URLS, cooldown_s=5, max_outstanding=2, clock=Clock())
    home = pool.acquire(b"run-1")
    assert pool.acquire(b"run-1") is home
    spilled = pool.acquire(b"run-1")
    assert spilled is not home
    assert pool.acquire(b"run-1") is spilled  # the next in the run's own ranking, then full
    pool.release(home)
    assert pool.acquire(b"run-1") is home  # back home once it has room


def test_when_every_replica_is_at_the_cap_the_least_loaded_takes_it() -> None:
    pool = ReplicaPool(URLS[:2], cooldown_s=5, max_outstanding=1, clock=Clock())
    home = pool.acquire(b"run-1")
    other = pool.acquire(b"run-1")
    assert other is not home
    assert pool.acquire(b"run-1") is home  # both full and equally loaded: the run's own first
    assert pool.acquire(b"run-1") is other  # then the less loaded one
    assert [r.outstanding for r in pool.replicas] == [2, 2]
