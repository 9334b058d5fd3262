"""The `engine:` section of a config: which engine generates the tokens, and its settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from harmony_agent._errors import ConfigError
from harmony_agent.config._default_engine import default_engine
from harmony_agent.config._text_file import read_text_file
from harmony_agent.config._yaml import read_yaml
from harmony_agent.engines import (
    Engine,
    HTTPEngine,
    HTTPSettings,
    ScriptedEngine,
    VLLMEngine,
    VLLMSettings,
)
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

__all__ = [
    "DefaultEngineConfig",
    "EngineConfig",
    "HTTPEngineConfig",
    "ScriptedEngineConfig",
    "VLLMEngineConfig",
    "build_engine",
]

Script = list[str] | dict[str, list[str]]
"""Completions in order, or one list of completions per key found in the user's prompt."""


class DefaultEngineConfig(BaseModel):
    """The embedded default: gpt-oss-20b in-process where a GPU and its weights are present,
    else the tiny gpt-oss checkpoint on the CPU.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["default"] = "default"


class VLLMEngineConfig(VLLMSettings):
    """An in-process vLLM engine (needs the `vllm` extra): `VLLMSettings` and `kind: vllm`."""

    kind: Literal["vllm"]


class HTTPEngineConfig(HTTPSettings):
    """OpenAI-compatible `/v1/completions` servers, e.g. `vllm serve openai/gpt-oss-20b`:
    `HTTPSettings` and `kind: http`. Write the API key as `${ENV_VAR}`.
    """

    kind: Literal["http"]

    @model_validator(mode="before")
    @classmethod
    def _empty_key_is_none(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("api_key") == "":
            return {**data, "api_key": None}  # `${KEY:-}` with KEY unset: no key
        return data


class ScriptedEngineConfig(BaseModel):
    """Plays scripted completions instead of a model: for tests and demos.

    Each completion is the harmony text the model writes after `<|start|>assistant`. A
    mapping of key -> completions serves each run the script whose key occurs in its prompt
    (for batches).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["scripted"]
    script: Script | None = Field(default=None, description="The completions, inline.")
    script_file: Path | None = Field(
        default=None, description="A YAML or JSON file holding the completions."
    )
    token_delay_s: float = Field(default=0.0, ge=0, description="Pause after each token.")
    max_model_len: PositiveInt | None = Field(
        default=None, description="The context window the engine pretends to have."
    )

    @model_validator(mode="after")
    def _one_source(self) -> ScriptedEngineConfig:
        if (self.script is None) == (self.script_file is None):
            raise ValueError("give exactly one of `script` and `script_file`")
        return self

    def load_script(self) -> Script:
        """The completions, read from `script_file` if given."""
        if self.script is not None or self.script_file is None:
            return self.script or []
        text = read_text_file(self.script_file)
        source = str(self.script_file)
        if self.script_file.suffix == ".json":
            try:
                data = json.loads(text)
            except (ValueError, RecursionError) as error:
                raise ConfigError(f"{source} is not valid JSON: {error}") from None
        else:
            data = read_yaml(text, source, environ=None).data
        if isinstance(data, list) and all(isinstance(c, str) for c in data):
            return data
        if isinstance(data, dict) and all(
            isinstance(v, list) and all(isinstance(c, str) for c in v) for v in data.values()
        ):
            return {str(k): v for k, v in data.items()}
        raise ConfigError(
            f"{self.script_file} must hold a list of completions or a "
            "mapping of key -> list of completions"
        )


EngineConfig = Annotated[
    DefaultEngineConfig | VLLMEngineConfig | HTTPEngineConfig | ScriptedEngineConfig,
    Field(discriminator="kind"),
]
"""The settings of one engine, told apart by `kind`."""


def build_engine(config: EngineConfig) -> Engine:
    """The engine `config` describes (not started yet; the caller closes it)."""
    match config:
        case ScriptedEngineConfig():
            script = config.load_script()
            options: dict[str, Any] = {
                "token_delay": config.token_delay_s,
                "max_model_len": config.max_model_len,
            }
            if isinstance(script, dict):
                return ScriptedEngine.routed(script, **options)
            return ScriptedEngine(script, **options)
        case VLLMEngineConfig():
            return VLLMEngine(config)
        case HTTPEngineConfig():
            return HTTPEngine(config)
        case DefaultEngineConfig():
            return default_engine()
