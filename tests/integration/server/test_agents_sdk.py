"""The OpenAI Agents SDK against `harmony-agent serve`: an Agent with a function tool, through
its Responses model and its Chat Completions model, over two turns.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI

from tests.integration.server.conftest import API_KEY, MODEL, Server

called: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """The current weather in a city.

    Args:
        city: The city's name.
    """
    called.append(city)
    return f"21 C in {city}"


@pytest.fixture(autouse=True)
def no_tracing() -> Iterator[None]:
    set_tracing_disabled(True)
    called.clear()
    yield


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_an_agent_calls_its_function_tool_over_two_turns(server: Server, api: str) -> None:
    client = AsyncOpenAI(base_url=server.v1, api_key=API_KEY, max_retries=0)
    model = (
        OpenAIResponsesModel(model=MODEL, openai_client=client)
        if api == "responses"
        else OpenAIChatCompletionsModel(model=MODEL, openai_client=client)
    )
    city = "Paris" if api == "responses" else "Oslo"
    agent = Agent(name="Weather", instructions="Use the tool.", tools=[get_weather], model=model)
    config = RunConfig(tracing_disabled=True)
    key = f"agents-{api}"
    async with client:
        first = await Runner.run(agent, f"{key}: weather in {city}?", run_config=config)
        assert first.final_output == f"It is 21 °C in {city}."
        assert called == [city]
        history = first.to_input_list()
        second = await Runner.run(
            agent,
            [*history, {"role": "user", "content": f"{key}: what did I ask?"}],
            run_config=config,
        )
    assert second.final_output == f"You asked about {city}."
    assert called == [city]
