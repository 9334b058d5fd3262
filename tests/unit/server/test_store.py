"""The response store stays bounded: beyond its retention (a count of responses, a count of
recorded segments, an age) the oldest go first, and a deleted response is gone.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harmony_agent._history import Entry, History
from harmony_agent._messages import Message
from harmony_agent.server._store import Retention, Store, StoredResponse

ENTRY = Entry(Message("assistant", "Hi.", "final"), (1, 2, 3))


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Iterator[Store]:
    retention = Retention(max_responses=2, max_segments=3, max_age_s=60)
    store = Store(":memory:", retention, clock=clock).open()
    yield store
    store.close()


def response(number: int) -> StoredResponse:
    return StoredResponse(f"resp_{number}", "m", {"id": f"resp_{number}"}, History((ENTRY,)), None)


async def test_the_oldest_responses_are_evicted_beyond_the_count(store: Store) -> None:
    for number in range(3):
        await store.save(response(number), {})
    assert await store.response("resp_0") is None
    assert [(await store.response(f"resp_{n}")) == response(n) for n in (1, 2)] == [True, True]


async def test_the_oldest_segments_are_evicted_beyond_the_count(store: Store) -> None:
    for number in range(5):
        await store.save(None, {f"key_{number}": (ENTRY,)})
    assert [await store.segment(f"key_{n}") for n in range(5)] == [None, None] + [(ENTRY,)] * 3


async def test_a_rewritten_segment_counts_as_new(store: Store) -> None:
    for key in ("a", "b", "c", "a", "d"):
        await store.save(None, {key: (ENTRY,)})
    assert await store.segment("b") is None
    assert await store.segment("a") == (ENTRY,)


async def test_what_is_older_than_the_age_is_gone(store: Store, clock: Clock) -> None:
    await store.save(response(0), {"old": (ENTRY,)})
    clock.now += 30
    await store.save(response(1), {"new": (ENTRY,)})
    clock.now += 31
    assert await store.response("resp_0") is None
    assert await store.segment("old") is None
    assert await store.response("resp_1") == response(1)
    assert await store.segment("new") == (ENTRY,)


async def test_a_deleted_response_is_gone(store: Store) -> None:
    await store.save(response(0), {})
    assert await store.delete("resp_0") is True
    assert await store.response("resp_0") is None
    assert await store.delete("resp_0") is False
