"""`checked`: an engine's stream held to the Engine contract, on hand-made streams."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

import pytest
from harmony_agent import InvalidEngineOutput
from harmony_agent._harmony import STOP_TOKENS, decode, is_special, vocabulary_size
from harmony_agent.engines import FinishReason, TokenChunk
from harmony_agent.engines._checked import checked

RETURN = STOP_TOKENS[0]


async def read(chunks: Sequence[TokenChunk], max_tokens: int) -> list[TokenChunk]:
    async def engine() -> AsyncGenerator[TokenChunk, None]:
        for chunk in chunks:
            yield chunk

    stream = checked(engine(), max_tokens=max_tokens, stop_token_ids=STOP_TOKENS)
    return [chunk async for chunk in stream]


def test_the_vocabulary_is_every_id_harmony_decodes() -> None:
    size = vocabulary_size()
    assert all(is_special(token) for token in range(RETURN, size))  # what the bisection needs
    assert decode([size - 1]).startswith("<|reserved_")
    with pytest.raises(RuntimeError):
        decode([size])


async def test_a_well_behaved_stream_passes_as_it_is() -> None:
    chunks = [TokenChunk((1, 2)), TokenChunk((3, RETURN), FinishReason.STOP, 5)]
    assert await read(chunks, max_tokens=4) == chunks


async def test_the_limit_ends_the_stream_with_length_unless_the_last_token_stops() -> None:
    assert await read([TokenChunk((1, 2, 3)), TokenChunk((4,))], max_tokens=2) == [
        TokenChunk((1, 2), FinishReason.LENGTH)
    ]
    assert await read([TokenChunk((1, RETURN, 3))], max_tokens=2) == [
        TokenChunk((1, RETURN), FinishReason.STOP)
    ]


async def test_nothing_is_read_after_a_finish_reason() -> None:
    chunks = [TokenChunk((1,), FinishReason.LENGTH), TokenChunk((2,), FinishReason.STOP)]
    assert await read(chunks, max_tokens=10) == chunks[:1]


async def test_a_bool_is_not_a_token_id() -> None:
    with pytest.raises(InvalidEngineOutput, match="True"):
        await read([TokenChunk((True,))], max_tokens=10)
