"""`sse_data`: server-sent events from bytes split anywhere, with every line and event bounded."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable

import pytest
from harmony_agent import InvalidEngineOutput
from harmony_agent.engines._sse import sse_data

STREAM = b": ping\r\nevent: message\r\ndata: a\rdata:b\n\n\r\n\nid: 3\r\ndata: c"
"""Comments, fields, the three line ends, empty events and a last event without its end."""


class Source:
    """Chunks of bytes for `sse_data`, counting how many were read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = iter(chunks)
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk


async def events(chunks: Iterable[bytes], max_bytes: int = 100) -> list[str]:
    return [data async for data in sse_data(Source(chunks), max_bytes=max_bytes)]


async def test_events_are_the_same_wherever_the_bytes_are_split() -> None:
    assert await events([STREAM]) == ["a\nb", "c"]
    for first, second in itertools.combinations(range(1, len(STREAM)), 2):
        pieces = [STREAM[:first], b"", STREAM[first:second], STREAM[second:]]
        assert await events(pieces) == ["a\nb", "c"], pieces


async def test_text_is_decoded_as_utf8_with_replacements() -> None:
    assert await events([b"data: caf\xc3", b"\xa9 \xff\n\n"]) == ["café \ufffd"]


async def test_a_line_without_end_fails_once_it_passes_the_bound() -> None:
    source = Source(itertools.chain([b"data: "], itertools.repeat(b"x" * 10)))
    with pytest.raises(InvalidEngineOutput, match="a line of more than 100 bytes"):
        [data async for data in sse_data(source, max_bytes=100)]
    assert source.read == 11


async def test_a_long_line_inside_one_chunk_fails() -> None:
    with pytest.raises(InvalidEngineOutput, match="a line of more than 100 bytes"):
        await events([b"data: " + b"x" * 200 + b"\n\ndata: 1\n\n"])


async def test_an_event_of_many_lines_fails_once_it_passes_the_bound() -> None:
    source = Source(itertools.repeat(b"data: 123456789\n"))
    with pytest.raises(InvalidEngineOutput, match="an event of more than 100 bytes"):
        [data async for data in sse_data(source, max_bytes=100)]
    assert source.read == 11  # 10 bytes of data a line
