"""The chain of thought survives clients that drop it: a replayed history maps back to the
exact tokens the server generated, so the prompts equal those of a `previous_response_id`
conversation and each extends the one before it (the engine's prefix cache hits).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from harmony_agent import Agent
from harmony_agent._harmony import decode
from harmony_agent.engines import ScriptedEngine
from harmony_agent.server import ServerSettings, create_app

from tests.fakes import DATE

THOUGHT = "The user wants the weather. I will call get_weather."
CALL = (
    f"<|channel|>analysis<|message|>{THOUGHT}<|end|><|start|>assistant<|channel|>commentary "
    'to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>'
)
ANSWER = (
    "<|channel|>analysis<|message|>It said 21.<|end|><|start|>assistant<|channel|>final"
    "<|message|>It is 21 °C in Paris.<|return|>"
)
AGAIN = "<|channel|>analysis<|message|>Recall.<|end|><|start|>assistant<|channel|>final<|message|>You asked about Paris.<|return|>"
TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
QUESTION = {"role": "user", "content": "weather in Paris?"}
FOLLOW_UP = {"role": "user", "content": "what did I ask?"}


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> ScriptedEngine:
    return ScriptedEngine(getattr(request, "param", [CALL, ANSWER, AGAIN] * 2))


@pytest.fixture
def client(engine: ScriptedEngine) -> Iterator[TestClient]:
    agent = Agent(engine=engine, reasoning="low", current_date=DATE)

    @contextlib.asynccontextmanager
    async def agents() -> AsyncIterator[Mapping[str, Agent]]:
        yield {"m": agent}

    with TestClient(create_app(agents, ServerSettings(store=":memory:"))) as client:
        yield client


def respond(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/responses", json={"model": "m", "tools": [TOOL], **body})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def call_of(response: dict[str, Any]) -> dict[str, Any]:
    call: dict[str, Any] = response["output"][-1]
    assert call["type"] == "function_call"
    return call


def test_a_replay_without_reasoning_gets_the_tokens_of_previous_response_id(
    client: TestClient, engine: ScriptedEngine
) -> None:
    # by previous_response_id
    first = respond(client, input=[QUESTION])
    output = {"type": "function_call_output", "call_id": call_of(first)["call_id"], "output": "21"}
    second = respond(client, input=[output], previous_response_id=first["id"])
    respond(client, input=[FOLLOW_UP], previous_response_id=second["id"])
    # by a client that replays the items without the reasoning and stores nothing
    first = respond(client, input=[QUESTION], store=False)
    call = {k: call_of(first)[k] for k in ("type", "call_id", "name", "arguments")}
    output = {**output, "call_id": call["call_id"]}
    second = respond(client, input=[QUESTION, call, output], store=False)
    answer = {"role": "assistant", "content": second["output_text"]}
    respond(client, input=[QUESTION, call, output, answer, FOLLOW_UP], store=False)

    by_id, replayed = engine.prompts[:3], engine.prompts[3:]
    assert replayed == by_id
    assert THOUGHT in decode(replayed[1])  # the turn's reasoning, restored
    assert THOUGHT not in decode(replayed[2])  # dropped once the turn ended, as trained
    assert replayed[1][: len(replayed[0])] == replayed[0]  # extends it: a prefix cache hit
    engine.assert_consumed()


@pytest.mark.parametrize("engine", [[ANSWER]], indirect=True)
def test_a_call_the_server_did_not_make_is_rendered_from_the_items(
    client: TestClient, engine: ScriptedEngine
) -> None:
    call = {
        "type": "function_call",
        "call_id": "call_elsewhere",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }
    output = {"type": "function_call_output", "call_id": "call_elsewhere", "output": "21"}
    reasoning = {
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "Sent back by the client."}],
    }
    respond(client, input=[QUESTION, reasoning, call, output])
    prompt = decode(engine.prompts[0])
    assert "Sent back by the client." in prompt
    assert prompt.endswith(
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>21<|end|>"
        "<|start|>assistant"
    )
