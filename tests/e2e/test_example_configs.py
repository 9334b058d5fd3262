"""The example configs that run on the embedded default engine, run on the tiny checkpoint.

The tiny model was trained only as the agent of `tiny-cpu.yaml`; the other examples show it
prompts it has never seen, so what it writes is off its training: exactly the output a run
must survive. Each run must end with a stop reason inside its limits, whatever the model did.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from harmony_agent import StopReason
from harmony_agent.config import load_config
from harmony_agent.engines import VLLMEngine

pytestmark = pytest.mark.asyncio(loop_scope="session")

CONFIGS = Path(__file__).parents[2] / "configs"
MAX_TURNS = 3
ENDINGS = {
    StopReason.FINAL,
    StopReason.MAX_TURNS,
    StopReason.MAX_TOKENS,
    StopReason.ERROR_BUDGET,
    StopReason.CONTEXT_FULL,
}


@pytest.mark.parametrize("name", ["function-calling.yaml", "data-analysis.yaml"])
@pytest.mark.parametrize("prompt", ["What's the weather in Paris?", "What is 14*64?"])
async def test_an_example_survives_a_model_it_was_not_written_for(
    name: str, prompt: str, vllm_engine: VLLMEngine
) -> None:
    config = load_config(CONFIGS / name, environ={})
    assert config.engine.kind == "default"
    agent = dataclasses.replace(config.agent(vllm_engine), max_turns=MAX_TURNS, max_tokens=128)

    result = await agent.arun(prompt)

    assert result.stop_reason in ENDINGS, result.stop_reason
    assert 1 <= result.usage.turns <= MAX_TURNS
    assert result.usage.completion_tokens > 0
    assert len(result.tool_calls) == result.usage.tool_calls
    assert all(call.output for call in result.tool_calls)
    if result.stop_reason is StopReason.FINAL:
        assert result.final_text is not None
