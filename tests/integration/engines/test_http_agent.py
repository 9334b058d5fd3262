"""The agent loop over HTTPEngine: a tool-call trajectory played by a local completions server."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest
from harmony_agent import Agent, InvalidEngineOutput, StopReason, tool
from harmony_agent._harmony import decode, encode_completion
from harmony_agent.engines import HTTPEngine, HTTPSettings

from .completions_server import MODEL, CompletionsServer, Stream

CALL = (
    "<|channel|>analysis<|message|>Need the weather tool.<|end|><|start|>assistant"
    '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}'
    "<|call|>"
)
ANSWER = "<|channel|>final<|message|>It is 21 C in Paris.<|return|>"


@tool
def get_weather(city: str) -> dict[str, object]:
    """Gets the current weather in a city.

    Args:
        city: City name, e.g. "Paris".
    """
    return {"city": city, "temperature_c": 21}


async def test_tool_call_trajectory_over_http() -> None:
    script = [Stream.of(CALL, token_delay=0.001), Stream.of(ANSWER, cached_tokens=100)]
    async with (
        CompletionsServer(script) as server,
        HTTPEngine(HTTPSettings(base_urls=[server.base_url], model=MODEL)) as engine,
    ):
        agent = Agent(engine=engine, tools=[get_weather], reasoning="low")
        result = await agent.arun("What is the weather in Paris?")

    assert result.stop_reason is StopReason.FINAL
    assert result.output == "It is 21 C in Paris."
    [call] = result.tool_calls
    assert call.call.recipient == "functions.get_weather"
    assert call.error is None
    first, second = (request["prompt"] for request in server.requests)
    assert second[: len(first)] == first
    assert second[len(first) : len(first) + len(encode_completion(CALL))] == encode_completion(CALL)
    result_message = decode(second[len(first) + len(encode_completion(CALL)) :])
    assert result_message.startswith(
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"
    )
    assert '"temperature_c":21' in result_message
    assert result.usage.prompt_tokens == len(first) + len(second)
    assert result.usage.completion_tokens == len(encode_completion(CALL + ANSWER))
    assert result.usage.cached_prompt_tokens == 100
    assert result.usage.turns == 2


def event(choice: dict[str, object]) -> bytes:
    return b"data: %s\n\n" % json.dumps({"choices": [{"index": 0, **choice}]}).encode()


HEADER = "<|channel|>final<|message|>"


@pytest.mark.parametrize("with_ids", [True, False], ids=["token ids", "text only"])
async def test_a_server_that_ignores_max_tokens_is_cut_off(with_ids: bool) -> None:
    if with_ids:
        first = event({"text": "", "token_ids": encode_completion(HEADER)})
        more = event({"text": "", "token_ids": [75] * 10})
    else:
        first, more = event({"text": HEADER}), event({"text": "lol " * 10})
    reply = Stream(events=itertools.chain([first], itertools.repeat(more)))
    async with (
        CompletionsServer([reply]) as server,
        HTTPEngine(HTTPSettings(base_urls=[server.base_url], model=MODEL)) as engine,
    ):
        agent = Agent(engine=engine, max_tokens=200)
        async with asyncio.timeout(30):  # the run went on forever
            result = await agent.arun("Hi")
        await asyncio.wait_for(server.client_left.wait(), timeout=5)
    assert result.stop_reason is StopReason.MAX_TOKENS
    assert result.usage.completion_tokens == 200
    assert server.requests[0]["max_tokens"] == 200


@pytest.mark.parametrize("token", [-1, 2**65, 300_000])
async def test_a_token_id_outside_the_vocabulary_fails_the_run_clearly(token: int) -> None:
    ids = [*encode_completion(HEADER), token]
    reply = Stream(events=[event({"text": "", "token_ids": ids, "finish_reason": "stop"})])
    async with (
        CompletionsServer([reply]) as server,
        HTTPEngine(HTTPSettings(base_urls=[server.base_url], model=MODEL)) as engine,
    ):
        with pytest.raises(InvalidEngineOutput, match=f"outside the vocabulary: {token}"):
            await Agent(engine=engine).arun("Hi")
