"""The agent loop on the tiny gpt-oss checkpoint through in-process vLLM on the CPU."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest
from harmony_agent import EngineOutOfMemory, OutputValidationError, RunResult
from harmony_agent._harmony import ASSISTANT_HEADER, encode_completion
from harmony_agent.engines import SamplingParams, TokenChunk, VLLMEngine
from harmony_agent.tiny import TinyCheckpoint, tiny_agent, tiny_engine_settings
from harmony_agent.tiny._selftest import pick_tasks
from harmony_agent.tiny._tasks import ProductTask, WeatherTask
from harmony_agent.tools import BuiltinTool

from tests.e2e.processes import child_processes, processes_left
from tests.e2e.recording import RecordingEngine
from tests.e2e.tools import CITIES, WEATHER_REPORT

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _run(
    engine: VLLMEngine, python: BuiltinTool, task: WeatherTask | ProductTask
) -> tuple[RunResult, RecordingEngine]:
    recording = RecordingEngine(engine)
    temperature = task.temperature_c if isinstance(task, WeatherTask) else 0
    agent = tiny_agent(recording, python=python, temperature_c=temperature)
    return await agent.arun(task.question), recording


async def test_weather_trajectory(
    vllm_engine: VLLMEngine, python_tool: BuiltinTool, tiny: TinyCheckpoint
) -> None:
    weather, _ = pick_tasks(tiny)
    result, recording = await _run(vllm_engine, python_tool, weather)

    # The model called the function with the city copied from the question ...
    (call,) = result.tool_calls
    assert call.call.recipient == "functions.get_weather"
    assert call.error is None
    assert call.call.arguments == f'{{"city": "{weather.city}"}}'
    # ... the result went back into its context, and the answer carries the temperature.
    assert f'"temperature_c":{weather.temperature_c}' in call.output
    assert result.final_text == weather.expected_answer()
    assert result.stop_reason == "final"

    # Usage counts what the engine was given and what it generated.
    first, second = recording.prompts
    assert result.usage.turns == 2
    assert result.usage.prompt_tokens == len(first) + len(second)
    assert result.usage.completion_tokens == sum(len(c) for c in recording.completions)
    # Turn 2's prompt extends turn 1's prompt and output exactly (prefix-cache friendly) ...
    assert second[: len(first) + len(recording.completions[0])] == first + recording.completions[0]
    # ... so vLLM served the shared prefix from its cache.
    assert result.usage.cached_prompt_tokens >= len(first) // 2


async def test_python_trajectory(
    vllm_engine: VLLMEngine, python_tool: BuiltinTool, tiny: TinyCheckpoint
) -> None:
    _, product = pick_tasks(tiny)
    result, _ = await _run(vllm_engine, python_tool, product)

    (call,) = result.tool_calls
    assert call.call.recipient == "python"
    assert call.call.arguments == f"print({product.a}*{product.b})"
    assert call.output.strip() == str(product.a * product.b)
    assert result.final_text == product.expected_answer()


async def test_concurrent_runs_answer_like_sequential_ones(
    vllm_engine: VLLMEngine, python_tool: BuiltinTool, tiny: TinyCheckpoint
) -> None:
    tasks = tiny.verified[:8]
    results = await asyncio.gather(*(_run(vllm_engine, python_tool, t) for t in tasks))
    assert [r.final_text for r, _ in results] == [t.expected_answer() for t in tasks]


async def test_a_kv_cache_too_small_for_the_context_is_out_of_memory(
    tiny_checkpoint: Path,
) -> None:
    before = child_processes()
    small = tiny_engine_settings(tiny_checkpoint).model_copy(
        update={"kv_cache_memory_bytes": 1 << 16}
    )
    engine = VLLMEngine(small)
    with pytest.raises(EngineOutOfMemory, match="max_model_len"):
        await engine.start()
    await engine.aclose()
    assert not processes_left(before)


async def test_closing_a_stream_aborts_its_request(vllm_engine: VLLMEngine) -> None:
    prompt = list(ASSISTANT_HEADER)
    stream = vllm_engine.generate(
        prompt, stop_token_ids=[], max_tokens=1000, sampling=SamplingParams(temperature=1.0)
    )
    chunks: list[TokenChunk] = []
    async for chunk in stream:
        chunks.append(chunk)
        if sum(len(c.token_ids) for c in chunks) >= 3:
            break
    await stream.aclose()
    assert vllm_engine.unfinished_requests == 0
    assert all(c.finish_reason is None for c in chunks)


async def test_required_tool_choice_through_vllm(
    vllm_engine: VLLMEngine, python_tool: BuiltinTool, tiny: TinyCheckpoint
) -> None:
    weather, _ = pick_tasks(tiny)
    agent = tiny_agent(vllm_engine, python=python_tool, temperature_c=weather.temperature_c)
    result = await dataclasses.replace(agent, tool_choice="required").arun(weather.question)
    assert [c.call.recipient for c in result.tool_calls] == ["functions.get_weather"]
    assert result.final_text == weather.expected_answer()


async def test_constrained_output_through_vllm(
    vllm_engine: VLLMEngine, python_tool: BuiltinTool, tiny: TinyCheckpoint
) -> None:
    """The tiny model never learnt to answer in JSON: left alone it writes prose, which the
    schema rejects; under guided decoding its answer is JSON that matches.
    """
    weather, _ = pick_tasks(tiny)
    agent = dataclasses.replace(
        tiny_agent(vllm_engine, python=python_tool, temperature_c=weather.temperature_c),
        output_type=WEATHER_REPORT,
        max_output_retries=0,
    )
    with pytest.raises(OutputValidationError, match="not valid JSON"):
        await agent.arun(weather.question)

    recording = RecordingEngine(vllm_engine)
    constrained = dataclasses.replace(agent, engine=recording, constrain_output=True)
    result = await constrained.arun(weather.question)
    assert set(result.output) == {"city", "temperature_c"}
    assert result.output["city"] in CITIES
    assert result.final_text == json.dumps(result.output, separators=(",", ":"))
    # the answer came from a request that went on from the final channel's header
    header = encode_completion("<|channel|>final<|message|>")
    assert recording.prompts[-1][-len(header) :] == header
    assert recording.prompts[-1][: len(recording.prompts[-2])] == recording.prompts[-2]
