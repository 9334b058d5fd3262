"""The engine sections of a config match the engines' own settings, field for field."""

from __future__ import annotations

import importlib

import pytest
from harmony_agent.config import (
    HTTPEngineConfig,
    ScriptedEngineConfig,
    VLLMEngineConfig,
    build_engine,
)
from harmony_agent.engines import ScriptedEngine
from pydantic import BaseModel


@pytest.mark.parametrize(
    ("config", "settings_name"),
    [(VLLMEngineConfig, "VLLMSettings"), (HTTPEngineConfig, "HTTPSettings")],
)
def test_every_config_field_is_a_settings_field(
    config: type[BaseModel], settings_name: str
) -> None:
    settings = getattr(importlib.import_module("harmony_agent.engines"), settings_name, None)
    if settings is None:
        pytest.skip(f"{settings_name} is not in this installation")
    assert set(config.model_fields) - {"kind"} <= set(settings.model_fields)


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


def test_http_config_takes_one_url_and_an_empty_key() -> None:
    config = HTTPEngineConfig.model_validate(
        {"kind": "http", "base_urls": "http://h/v1", "model": "m", "api_key": ""}
    )
    assert config.base_urls == ["http://h/v1"]
    assert config.api_key is None
