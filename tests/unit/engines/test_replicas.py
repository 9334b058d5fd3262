"""ReplicaPool: least outstanding requests first, round robin on ties, failed ones skipped."""

from __future__ import annotations

from harmony_agent.engines._replicas import ReplicaPool


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


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
