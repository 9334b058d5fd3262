"""The agent loop over HTTPEngine: a tool-call trajectory played by a local completions server."""

from __future__ import annotations

from harmony_agent import Agent, StopReason, tool
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
