"""The `engine:` section of a config: which engine generates the tokens, and its settings."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from harmony_agent._errors import ConfigError
from harmony_agent.engines import Engine, ScriptedEngine
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, SecretStr, model_validator

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


class VLLMEngineConfig(BaseModel):
    """An in-process vLLM engine (needs the `vllm` package)."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    kind: Literal["vllm"]
    model: str = Field(description="Checkpoint directory or hub id, e.g. openai/gpt-oss-20b.")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        default="auto", description="Weight and activation dtype; auto: as the checkpoint says."
    )
    max_model_len: PositiveInt | None = Field(
        default=None, description="Context window in tokens; None: the model's own."
    )
    gpu_memory_utilization: float = Field(
        default=0.9, gt=0.0, le=1.0, description="Fraction of accelerator memory vLLM may use."
    )
    kv_cache_memory_bytes: PositiveInt | None = Field(
        default=None, description="KV cache size in bytes; None: from gpu_memory_utilization."
    )
    tensor_parallel_size: PositiveInt = Field(default=1, description="GPUs one model spans.")
    quantization: str | None = Field(
        default=None, description="Weight quantization, e.g. mxfp4; None: as the checkpoint says."
    )
    enforce_eager: bool = Field(default=False, description="Skip CUDA graph capture.")
    seed: int = Field(default=0, description="Seed of the engine's random sampling.")
    load_format: str = Field(default="auto", description="How to read weights.")


class HTTPEngineConfig(BaseModel):
    """OpenAI-compatible `/v1/completions` servers, e.g. `vllm serve openai/gpt-oss-20b`."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    kind: Literal["http"]
    base_urls: list[str] = Field(
        min_length=1, description="The API root of each replica, e.g. http://gpu-host:8000/v1."
    )
    model: str = Field(min_length=1, description="The served model name.")
    api_key: SecretStr | None = Field(
        default=None, description="Sent as `Authorization: Bearer ...`; write `${ENV_VAR}`."
    )
    connect_timeout_s: float = Field(default=5.0, gt=0, description="Seconds to connect.")
    read_timeout_s: float = Field(
        default=300.0, gt=0, description="Seconds without data from the server before failing."
    )
    max_retries: int = Field(default=3, ge=0, description="Extra attempts before a first token.")
    max_model_len: PositiveInt | None = Field(
        default=None, description="The context window; None: ask the server."
    )

    @model_validator(mode="before")
    @classmethod
    def _one_url_and_no_empty_key(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("base_urls"), str):
            data["base_urls"] = [data["base_urls"]]
        if data.get("api_key") == "":
            data["api_key"] = None  # `${KEY:-}` with KEY unset: no key
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
        try:
            text = self.script_file.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read {error.filename}: {error.strerror}") from None
        data = json.loads(text) if self.script_file.suffix == ".json" else yaml.safe_load(text)
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
            settings = config.model_dump(exclude={"kind"})
            return _construct("VLLMEngine", "VLLMSettings", settings)
        case HTTPEngineConfig():
            settings = config.model_dump(exclude={"kind"}, exclude_none=True)
            if config.api_key is not None:
                settings["api_key"] = config.api_key.get_secret_value()
            return _construct("HTTPEngine", "HTTPSettings", settings)
        case DefaultEngineConfig():
            default_engine = _engines_attribute("default_engine")
            engine: Engine = default_engine()
            return engine


def _construct(engine_name: str, settings_name: str, settings: dict[str, Any]) -> Engine:
    settings_class = _engines_attribute(settings_name)
    engine: Engine = _engines_attribute(engine_name)(settings_class(**settings))
    return engine


def _engines_attribute(name: str) -> Any:
    """An engine class or function, imported only when that engine is used."""
    engines = importlib.import_module("harmony_agent.engines")
    found = getattr(engines, name, None)
    if found is None:
        raise ConfigError(f"engine: {name} is not part of this installation of harmony-agent")
    return found
