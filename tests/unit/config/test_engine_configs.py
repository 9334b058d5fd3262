"""The engine sections of a config: each kind builds its engine (not started)."""

from __future__ import annotations

import pytest
from harmony_agent.config import (
    HTTPEngineConfig,
    ScriptedEngineConfig,
    VLLMEngineConfig,
    build_engine,
)
from harmony_agent.engines import HTTPEngine, ScriptedEngine, VLLMEngine


@pytest.mark.unconsumed_script(reason="builds the engines, never runs them")
def test_scripted_engine_from_a_list_and_from_routes() -> None:
    single = build_engine(ScriptedEngineConfig(kind="scripted", script=["a"]))
    assert isinstance(single, ScriptedEngine)
    routed = build_engine(
        ScriptedEngineConfig(kind="scripted", script={"k": ["a"]}, max_model_len=99)
    )
    assert isinstance(routed, ScriptedEngine)
    assert routed.max_model_len == 99


def test_scripted_engine_needs_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one of `script` and `script_file`"):
        ScriptedEngineConfig(kind="scripted")


def test_vllm_and_http_configs_are_the_engines_settings() -> None:
    vllm = VLLMEngineConfig.model_validate(
        {"kind": "vllm", "model": "openai/gpt-oss-20b", "max_model_len": 4096}
    )
    engine = build_engine(vllm)
    assert isinstance(engine, VLLMEngine)
    assert engine.settings.max_model_len == 4096
    http = HTTPEngineConfig.model_validate(
        {"kind": "http", "base_urls": "http://h:8000/v1", "model": "m", "api_key": ""}
    )
    assert [str(url) for url in http.base_urls] == ["http://h:8000/v1"]
    assert http.api_key is None
    assert isinstance(build_engine(http), HTTPEngine)
