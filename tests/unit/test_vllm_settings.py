"""VLLMEngine's failures that need no engine start: bad settings, no vllm, no model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from harmony_agent import EngineError, EngineUnavailable, ModelNotFound
from harmony_agent.engines import SamplingParams, VLLMEngine, VLLMSettings
from pydantic import ValidationError


def test_settings_reject_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ValidationError, match="max_model_length"):
        VLLMSettings.model_validate({"model": "m", "max_model_length": 10})
    with pytest.raises(ValidationError, match="gpu_memory_utilization"):
        VLLMSettings(model="m", gpu_memory_utilization=1.5)


async def test_a_missing_checkpoint_directory_is_named(tmp_path: Path) -> None:
    engine = VLLMEngine(VLLMSettings(model=str(tmp_path / "nowhere")))
    with pytest.raises(ModelNotFound, match="nowhere"):
        await engine.start()
    await engine.aclose()


async def test_missing_vllm_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "vllm", None)
    engine = VLLMEngine(VLLMSettings(model=str(tmp_path)))
    with pytest.raises(EngineUnavailable, match=r"harmony-agent\[cpu\]"):
        async for _ in engine.generate(
            [1], stop_token_ids=[], max_tokens=1, sampling=SamplingParams()
        ):
            pass
    await engine.aclose()


async def test_a_closed_engine_refuses_work(tmp_path: Path) -> None:
    engine = VLLMEngine(VLLMSettings(model=str(tmp_path)))
    await engine.aclose()
    with pytest.raises(EngineError, match="closed"):
        await engine.start()


async def test_a_json_schema_needs_structured_outputs(tmp_path: Path) -> None:
    engine = VLLMEngine(VLLMSettings(model=str(tmp_path)))
    assert not engine.supports_json_schema
    assert VLLMEngine(VLLMSettings(model="m", structured_outputs=True)).supports_json_schema
    constrained = SamplingParams(json_schema={"type": "object"})
    with pytest.raises(EngineError, match="structured_outputs=True"):
        async for _ in engine.generate([1], stop_token_ids=[], max_tokens=1, sampling=constrained):
            pass
    await engine.aclose()
