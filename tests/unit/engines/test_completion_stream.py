"""CompletionReader and the server-sent event parser, on hand-written events (no I/O)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from harmony_agent import EngineError
from harmony_agent._harmony import STOP_TOKENS, encode_completion
from harmony_agent.engines import FinishReason, TokenChunk
from harmony_agent.engines._completion_stream import CompletionReader, parse_event, sse_data

ANSWER = "<|channel|>final<|message|>Hello |> world!<|return|>"


def text_event(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "text": text, "finish_reason": finish}]}


def read(events: Sequence[dict[str, Any]]) -> tuple[list[list[int]], TokenChunk]:
    reader = CompletionReader(STOP_TOKENS)
    streamed = [tokens for event in events if (tokens := reader.feed(event))]
    return streamed, reader.last_chunk()


async def lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item


async def test_sse_data_joins_data_lines_and_skips_comments_and_other_fields() -> None:
    source = lines(": ping", "event: message", "data: a", "data:b", "", "", "id: 3", "data: c")
    assert [data async for data in sse_data(source)] == ["a\nb", "c"]


def test_text_split_anywhere_is_reencoded_in_whole_stretches() -> None:
    pieces = ["<|chan", "nel|>final<|mes", "sage|>Hello |", "> wor", "ld!<|ret", "urn|>"]
    events = [text_event(piece) for piece in pieces[:-1]] + [text_event(pieces[-1], "stop")]

    streamed, last = read(events)

    assert [t for tokens in streamed for t in tokens] + list(last.token_ids) == encode_completion(
        ANSWER
    )
    assert streamed[0] == encode_completion("<|channel|>")
    assert last.token_ids[-1] == 200002
    assert last.finish_reason is FinishReason.STOP


def test_the_finish_chunk_waits_for_the_usage_event() -> None:
    reader = CompletionReader(STOP_TOKENS)
    assert reader.feed({"choices": [{"token_ids": [1, 2]}]}) == [1, 2]
    assert reader.feed({"choices": [{"token_ids": [200012], "finish_reason": "stop"}]}) == []
    assert not reader.complete
    usage = {"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": 4}}
    assert reader.feed({"choices": [], "usage": usage}) == []
    assert reader.complete
    assert reader.last_chunk() == TokenChunk((200012,), FinishReason.STOP, 4)
    assert reader.generated == 3


@pytest.mark.parametrize(
    ("reason", "finish"),
    [("stop", FinishReason.STOP), ("length", FinishReason.LENGTH), ("abort", FinishReason.ABORT)],
)
def test_finish_reasons_without_a_stop_token(reason: str, finish: FinishReason) -> None:
    _, last = read([{"choices": [{"token_ids": [7], "finish_reason": reason}]}])
    assert last == TokenChunk((7,), finish, None)


def test_usage_without_details_reports_no_cache_count() -> None:
    _, last = read(
        [
            {"choices": [{"token_ids": [200002], "finish_reason": "stop"}]},
            {"choices": [], "usage": {"prompt_tokens": 5}},
        ]
    )
    assert last.cached_prompt_tokens is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[1, 2]", "not a JSON object"),
        ('{"error": {"message": "KV load failed"}}', "KV load failed"),
        ("{", "not JSON"),
    ],
)
def test_parse_event_rejects_what_is_not_a_completion_event(data: str, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        parse_event(data)
