"""Engines: where harmony tokens come from."""

from harmony_agent.engines._base import (
    Engine,
    FinishReason,
    SamplingParams,
    TokenChunk,
    supports_json,
)
from harmony_agent.engines._http import HTTPEngine
from harmony_agent.engines._http_settings import HTTPSettings
from harmony_agent.engines._scripted import ScriptedEngine
from harmony_agent.engines._vllm import VLLMEngine, VLLMSettings

__all__ = [
    "Engine",
    "FinishReason",
    "HTTPEngine",
    "HTTPSettings",
    "SamplingParams",
    "ScriptedEngine",
    "TokenChunk",
    "VLLMEngine",
    "VLLMSettings",
    "supports_json",
]
