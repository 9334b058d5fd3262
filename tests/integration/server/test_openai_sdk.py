"""The official openai SDK (sync, async, streaming; Responses and Chat Completions) against
`harmony-agent serve` in a subprocess, on a scripted agent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import AsyncOpenAI, OpenAI

from tests.integration.server.conftest import API_KEY, MODEL, Server

WEATHER_TOOL: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "The current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
CHAT_WEATHER_TOOL: Any = {
    "type": "function",
    "function": {k: v for k, v in WEATHER_TOOL.items() if k != "type"},
}


@pytest.fixture
def client(server: Server) -> OpenAI:
    return OpenAI(base_url=server.v1, api_key=API_KEY, max_retries=0)


def test_a_response_answers_with_its_reasoning_and_usage(client: OpenAI) -> None:
    response = client.responses.create(model=MODEL, input="hello-sync: greet me")
    assert response.status == "completed"
    assert response.output_text == "Hello there."
    assert [item.type for item in response.output] == ["reasoning", "message"]
    reasoning = response.output[0]
    assert reasoning.type == "reasoning"
    assert reasoning.content is not None and reasoning.content[0].text == "Done."
    assert response.usage is not None
    assert response.usage.input_tokens > 0
    assert response.usage.output_tokens > response.usage.output_tokens_details.reasoning_tokens > 0


async def test_the_async_client_gets_the_same_answer(server: Server) -> None:
    client = AsyncOpenAI(base_url=server.v1, api_key=API_KEY, max_retries=0)
    async with client:
        response = await client.responses.create(model=MODEL, input="hello-async: hi")
    assert response.output_text == "Hello there."


def test_a_streamed_response_sends_the_documented_events(client: OpenAI) -> None:
    with client.responses.stream(model=MODEL, input="hello-stream: hi") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.reasoning_text.delta" in kinds
    assert "response.output_text.delta" in kinds
    assert kinds.count("response.output_item.done") == 2
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    reasoning = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
    assert text == "Hello there." == final.output_text
    assert reasoning == "Greet them back."
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_a_client_function_call_ends_the_response_and_its_output_continues_it(
    client: OpenAI,
) -> None:
    first = client.responses.create(
        model=MODEL, input="weather-sync: weather in Paris?", tools=[WEATHER_TOOL]
    )
    call = first.output[-1]
    assert call.type == "function_call"
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    second = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "21 C"}],
        tools=[WEATHER_TOOL],
    )
    assert second.output_text == "It is 21 °C in Paris."


def test_a_streamed_function_call_streams_its_arguments(client: OpenAI) -> None:
    with client.responses.stream(
        model=MODEL, input="weather-stream: weather in Paris?", tools=[WEATHER_TOOL]
    ) as stream:
        events = list(stream)
        first = stream.get_final_response()
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(deltas) > 1  # fragments as the model writes them
    assert json.loads("".join(deltas)) == {"city": "Paris"}
    call = first.output[-1]
    assert call.type == "function_call"
    with client.responses.stream(
        model=MODEL,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "21 C"}],
        tools=[WEATHER_TOOL],
    ) as stream:
        second = stream.get_final_response()
    assert second.output_text == "It is 21 °C in Paris."


def test_a_replayed_history_without_reasoning_continues(client: OpenAI) -> None:
    question: Any = {"role": "user", "content": "weather-lost-reasoning: weather in Paris?"}
    first = client.responses.create(
        model=MODEL, input=[question], tools=[WEATHER_TOOL], store=False
    )
    call = first.output[-1]
    assert call.type == "function_call"
    replay: Any = [
        question,
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
        },
        {"type": "function_call_output", "call_id": call.call_id, "output": "21 C"},
    ]
    second = client.responses.create(model=MODEL, input=replay, tools=[WEATHER_TOOL])
    assert second.output_text == "It is 21 °C in Paris."


def test_a_server_side_function_runs_inside_the_loop(client: OpenAI) -> None:
    response = client.responses.create(model=MODEL, input="convert-server: 70 F in C?")
    kinds = [item.type for item in response.output]
    assert kinds == ["reasoning", "mcp_call", "reasoning", "message"]
    call = response.output[1]
    assert call.type == "mcp_call"
    assert call.name == "convert"
    assert call.output == "21.1"
    assert response.output_text == "70 °F is 21.1 °C."


def test_a_json_schema_format_gives_a_json_answer(client: OpenAI) -> None:
    schema: Any = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
        "required": ["city", "celsius"],
    }
    response = client.responses.create(
        model=MODEL,
        input="json-answer: Paris weather as JSON",
        text={"format": {"type": "json_schema", "name": "weather", "schema": schema}},
    )
    assert json.loads(response.output_text) == {"city": "Paris", "celsius": 21}


def test_max_output_tokens_cuts_the_response_off_as_incomplete(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL, input="long-answer: tell me everything", max_output_tokens=12
    )
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None and response.usage.output_tokens == 12


def test_previous_response_id_continues_a_stored_conversation(client: OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="previous-turn: first question")
    second = client.responses.create(
        model=MODEL, input="previous-turn: second question", previous_response_id=first.id
    )
    assert (first.output_text, second.output_text) == ("First answer.", "Second answer.")


def test_chat_completions_answer_with_reasoning_content(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "chat-hello: hi"}]
    )
    message = completion.choices[0].message
    assert message.content == "Hi from chat."
    assert (message.model_extra or {})["reasoning_content"] == "Done."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_streamed_chat_completions_stream_content_and_reasoning(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "chat-stream: hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
        for c in chunks
        if c.choices
    )
    assert content == "Streamed chat."
    assert reasoning == "Thinking in the stream."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None


@pytest.mark.parametrize("stream", [False, True])
def test_chat_tool_calls_round_trip(client: OpenAI, stream: bool) -> None:
    key = "chat-weather-stream" if stream else "chat-weather"
    messages: list[Any] = [{"role": "user", "content": f"{key}: weather in Paris?"}]
    if stream:  # the SDK assembles the streamed deltas
        with client.chat.completions.stream(
            model=MODEL, messages=messages, tools=[CHAT_WEATHER_TOOL]
        ) as streamed:
            completion: Any = streamed.get_final_completion()
    else:
        completion = client.chat.completions.create(
            model=MODEL, messages=messages, tools=[CHAT_WEATHER_TOOL]
        )
    assert completion.choices[0].finish_reason == "tool_calls"
    tool_calls = completion.choices[0].message.tool_calls or []
    assert len(tool_calls) == 1 and tool_calls[0].type == "function"
    call_id, name = tool_calls[0].id, tool_calls[0].function.name
    arguments = tool_calls[0].function.arguments
    assert name == "get_weather" and json.loads(arguments or "") == {"city": "Paris"}
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "21 C"},
    ]
    answer = client.chat.completions.create(
        model=MODEL, messages=messages, tools=[CHAT_WEATHER_TOOL]
    )
    assert answer.choices[0].message.content == "It is 21 °C in Paris."


def test_a_streamed_chat_tool_call_streams_its_arguments(client: OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "chat-weather-deltas: weather in Paris?"}]
    with client.chat.completions.stream(
        model=MODEL, messages=messages, tools=[CHAT_WEATHER_TOOL]
    ) as stream:
        events = list(stream)
        completion = stream.get_final_completion()
    deltas = [e for e in events if e.type == "tool_calls.function.arguments.delta"]
    assert len(deltas) > 1  # fragments as the model writes them, not one chunk at the end
    assert deltas[0].arguments_delta == ""  # the first chunk names the call: id and name
    assert json.loads(deltas[-1].arguments) == {"city": "Paris"}
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert len(calls) == 1 and calls[0].type == "function"
    assert calls[0].id.startswith("call_")
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}


def test_models_lists_the_served_model(client: OpenAI) -> None:
    assert [model.id for model in client.models.list()] == [MODEL]
