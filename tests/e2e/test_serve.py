"""`harmony-agent serve` end to end: the tiny checkpoint through a real `vllm serve`, reached
with the official openai SDK. The weather through a client-side function tool (continued by
`previous_response_id`, and by a client that replays the items without the reasoning), the
product through the server-side python tool. The second request of each tool-calling
conversation is served from vLLM's prefix cache.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from harmony_agent.tiny import TinyCheckpoint
from harmony_agent.tiny._selftest import pick_tasks
from harmony_agent.tiny._tasks import CURRENT_DATE, INSTRUCTIONS, weather_tool
from openai import OpenAI

from tests.console import CONFIGS
from tests.e2e.vllm_server import VLLMServer
from tests.integration.server.conftest import Server, running_server

MODEL = "tiny"
KV_BLOCK = 128
"""vLLM's KV cache block on the CPU (16 on a GPU): the prefix cache holds whole blocks."""


@pytest.fixture(scope="module")
def served(vllm_server: VLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The tiny agent's settings, its python tool, and no functions of its own."""
    directory = tmp_path_factory.mktemp("serve")
    config = {
        "engine": {
            "kind": "http",
            "base_urls": [vllm_server.base_url],
            "model": vllm_server.served_model_name,
        },
        "reasoning": "low",
        "instructions": INSTRUCTIONS,
        "current_date": CURRENT_DATE,
        "tools": {"python": {}},
        "limits": {"max_turns": 4, "max_tokens": 96},
        "sampling": {"temperature": 0},
    }
    path = directory / f"{MODEL}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with running_server(
        str(path), "--store", str(directory / "store.sqlite"), directory=directory
    ) as server:
        yield server


@pytest.fixture
def client(served: Server) -> OpenAI:
    return OpenAI(base_url=served.v1, api_key="unused", max_retries=0, timeout=300)


def weather_function(temperature_c: int) -> tuple[Any, Any]:
    """The get_weather the checkpoint was trained with, and the same function as a client tool."""
    function = weather_tool(temperature_c)
    spec = function.spec
    tool = {
        "type": "function",
        "name": spec.name,
        "description": spec.description,
        "parameters": dict(spec.parameters or {}),
    }
    return function, tool


@pytest.mark.parametrize("how", ["previous_response_id", "replay"])
async def test_weather_through_a_client_function(
    client: OpenAI, tiny: TinyCheckpoint, how: str, record_property: Any
) -> None:
    weather, _ = pick_tasks(tiny)
    function, tool = weather_function(weather.temperature_c)
    first = client.responses.create(
        model=MODEL, input=weather.question, tools=[tool], store=how == "previous_response_id"
    )
    call = first.output[-1]
    assert call.type == "function_call"
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": weather.city}
    output = (await function.call(call.arguments)).text
    result: Any = {"type": "function_call_output", "call_id": call.call_id, "output": output}
    if how == "previous_response_id":
        second = client.responses.create(
            model=MODEL, input=[result], tools=[tool], previous_response_id=first.id
        )
    else:
        replayed: Any = {k: getattr(call, k) for k in ("type", "call_id", "name", "arguments")}
        question: Any = {"role": "user", "content": weather.question}
        second = client.responses.create(
            model=MODEL, input=[question, replayed, result], tools=[tool], store=False
        )
    assert second.output_text == weather.expected_answer()
    assert second.usage is not None
    cached = second.usage.input_tokens_details.cached_tokens
    record_property("prompt_tokens", second.usage.input_tokens)
    record_property("cached_tokens", cached)
    print(f"{how}: second request {second.usage.input_tokens} prompt tokens, {cached} cached")
    # the first prompt and the call are a prefix of the second prompt: every whole KV block of
    # the first prompt is served from the cache
    assert first.usage is not None
    assert cached >= first.usage.input_tokens - KV_BLOCK + 1


def test_the_product_through_the_server_side_python(client: OpenAI, tiny: TinyCheckpoint) -> None:
    weather, product = pick_tasks(tiny)
    _, tool = weather_function(weather.temperature_c)  # the checkpoint always saw get_weather
    response = client.responses.create(model=MODEL, input=product.question, tools=[tool])
    kinds = [item.type for item in response.output]
    assert "code_interpreter_call" in kinds
    run = next(item for item in response.output if item.type == "code_interpreter_call")
    assert run.outputs is not None
    logs = [o.logs for o in run.outputs if o.type == "logs"]
    assert logs and logs[0].strip() == str(product.a * product.b)
    assert response.output_text == product.expected_answer()


def test_models_names_the_tiny_agent(served: Server) -> None:
    assert Path(served.log).read_text().startswith("Serving tiny at")


def test_the_embedded_default_engine_serves_the_tiny_config(
    tiny: TinyCheckpoint, tmp_path: Path
) -> None:
    """`serve` on a config whose engine is `kind: default`: in-process vLLM, here on the tiny
    checkpoint, started by the server itself.
    """
    _, product = pick_tasks(tiny)
    config = CONFIGS / "tiny-cpu.yaml"
    with running_server(str(config), directory=tmp_path, start_timeout_s=300) as server:
        client = OpenAI(base_url=server.v1, api_key="unused", max_retries=0, timeout=300)
        response = client.responses.create(model="tiny-cpu", input=product.question)
    assert response.output_text == product.expected_answer()
    assert "code_interpreter_call" in [item.type for item in response.output]
