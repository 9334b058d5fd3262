"""CompletionReader and the event parser, on hand-written events (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from harmony_agent import EngineError, InvalidEngineOutput, _harmony
from harmony_agent._harmony import STOP_TOKENS, decode, encode_completion, vocabulary_size
from harmony_agent._redact import Redactor
from harmony_agent.engines import FinishReason, TokenChunk
from harmony_agent.engines._completion_stream import (
    MAX_PENDING_TEXT,
    CompletionReader,
    parse_event,
)

ANSWER = "<|channel|>final<|message|>Hello |> world!<|return|>"


def text_event(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "text": text, "finish_reason": finish}]}


def read(events: Sequence[dict[str, Any]]) -> tuple[list[list[int]], TokenChunk]:
    reader = CompletionReader(STOP_TOKENS, Redactor(), prompt_tokens=5)
    streamed = [tokens for event in events if (tokens := reader.feed(event))]
    return streamed, reader.last_chunk()


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
    reader = CompletionReader(STOP_TOKENS, Redactor(), prompt_tokens=5)
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


@pytest.mark.parametrize("cached", [-1, 6, 10**12, 2.5, "4", True])
def test_a_cache_count_outside_the_prompt_is_no_count(cached: object) -> None:
    usage = {"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": cached}}
    _, last = read(
        [
            {"choices": [{"token_ids": [200002], "finish_reason": "stop"}]},
            {"choices": [], "usage": usage},
        ]
    )
    assert last.cached_prompt_tokens is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[1, 2]", "not a JSON object"),
        ('{"error": {"message": "KV load failed"}}', "KV load failed"),
        ("{", "not JSON"),
        ("[%s]" % ("1" * 5000), "not JSON"),
        ("[" * 100_000 + "]" * 100_000, "not JSON"),
    ],
    ids=["a list", "an error", "broken", "a 5000-digit number", "nested 100000 deep"],
)
def test_parse_event_rejects_what_is_not_a_completion_event(data: str, message: str) -> None:
    with pytest.raises(EngineError, match=message) as caught:
        parse_event(data, Redactor())
    assert isinstance(caught.value, InvalidEngineOutput) == (message != "KV load failed")


def test_text_without_special_tokens_is_encoded_once_it_passes_the_bound() -> None:
    reader = CompletionReader(STOP_TOKENS, Redactor(), prompt_tokens=5)
    piece = "lol " * 1000 + "<|chan"
    held = 0
    while not (tokens := reader.feed(text_event(piece))):
        held += len(piece)
        assert held <= MAX_PENDING_TEXT
    assert decode(tokens).endswith("lol ")  # the start of a spelling is held back
    assert not reader.feed(text_event("nel|>", "stop"))
    assert reader.last_chunk().token_ids == tuple(encode_completion("<|channel|>"))
    assert reader.received == held + len(piece) + len("nel|>")


def test_no_special_token_spelling_is_longer_than_the_room_held_back() -> None:
    from harmony_agent.engines._completion_stream import _SPELLING_ROOM

    assert max(len(decode([t])) for t in range(199998, vocabulary_size())) < _SPELLING_ROOM


@pytest.mark.parametrize("piece", ["ab|>", "x<|fake|>", "a", "<|reserved_5|>y"])
def test_text_is_encoded_a_bounded_number_of_times_whatever_it_looks_like(
    piece: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[int] = []

    def counting(text: str) -> list[int]:
        encoded.append(len(text))
        return encode_completion(text)

    monkeypatch.setattr(_harmony, "encode_completion", counting)
    reader = CompletionReader(STOP_TOKENS, Redactor(), prompt_tokens=5)
    sent = 0
    for _ in range(40_000 // len(piece)):
        reader.feed(text_event(piece))
        sent += len(piece)
    reader.feed(text_event("<|return|>", "stop"))
    assert reader.last_chunk().token_ids[-1] == STOP_TOKENS[0]
    assert sum(encoded) <= 3 * sent  # re-encoding the pending text each time is quadratic
