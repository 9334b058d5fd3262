"""An engine's stream held to the `Engine` contract before the loop reads a token of it.

Engines are trusted to run, not to be right: a server may send ids outside the vocabulary,
ignore `max_tokens`, or go on after a stop token. Whatever an engine sends, the loop reads
valid ids only, at most `max_tokens` of them, and nothing after the first stop token or the
chunk that finished the generation; the engine's stream is then closed, which aborts its
request.
"""

from __future__ import annotations

import operator
from collections.abc import AsyncGenerator, Collection, Sequence
from contextlib import aclosing
from typing import SupportsIndex

from harmony_agent import _harmony
from harmony_agent._errors import InvalidEngineOutput
from harmony_agent.engines._base import FinishReason, TokenChunk

__all__ = ["checked"]

_SHOWN_DIGITS = 30
"""A bad token id longer than this is described by its size, not written out."""


async def checked(
    stream: AsyncGenerator[TokenChunk, None],
    *,
    max_tokens: int,
    stop_token_ids: Collection[int],
) -> AsyncGenerator[TokenChunk, None]:
    """Passes on the chunks of `stream`, an engine's answer to a request for at most
    `max_tokens` tokens that stops at `stop_token_ids`.

    It ends after `max_tokens` tokens (finishing with `LENGTH`), after the first stop token
    (`STOP`) or after a chunk with a finish reason, and closes `stream` then, whatever the
    engine would send next. Raises `InvalidEngineOutput` for a token id that is not an integer
    in `range(vocabulary_size())`.
    """
    stops = frozenset(stop_token_ids)
    left = max_tokens
    async with aclosing(stream):
        async for chunk in stream:
            tokens = _valid(chunk.token_ids[:left])
            end = _after_stop(tokens, stops)
            if end is None and len(chunk.token_ids) >= left:
                end = left
            if end is None:
                left -= len(tokens)
                yield TokenChunk(tokens, chunk.finish_reason, chunk.cached_prompt_tokens)
                if chunk.finish_reason is not None:
                    return
                continue
            kept = tokens[:end]
            finish = chunk.finish_reason if end == len(chunk.token_ids) else None
            if finish is None:
                finish = FinishReason.STOP if kept and kept[-1] in stops else FinishReason.LENGTH
            yield TokenChunk(kept, finish, chunk.cached_prompt_tokens)
            return


def _after_stop(tokens: Sequence[int], stops: frozenset[int]) -> int | None:
    """The position just after the first stop token in `tokens`, if there is one."""
    for position, token in enumerate(tokens):
        if token in stops:
            return position + 1
    return None


def _valid(tokens: Sequence[object]) -> tuple[int, ...]:
    """`tokens` as Python ints, each checked to be in the vocabulary."""
    size = _harmony.vocabulary_size()
    ids = []
    for token in tokens:
        value = operator.index(token) if isinstance(token, SupportsIndex) else None
        if value is None or isinstance(token, bool) or not 0 <= value < size:
            raise InvalidEngineOutput(
                f"the engine sent a token id outside the vocabulary: {_describe(token)} (valid "
                f"ids are integers from 0 to {size - 1})"
            )
        ids.append(value)
    return tuple(ids)


def _describe(token: object) -> str:
    if isinstance(token, int) and abs(token).bit_length() > _SHOWN_DIGITS * 3:
        return f"an integer of {abs(token).bit_length()} bits"
    text = repr(token)
    return text if len(text) <= _SHOWN_DIGITS else f"{text[:_SHOWN_DIGITS]}..."
