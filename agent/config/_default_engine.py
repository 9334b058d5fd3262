"""The embedded default: which model the in-process engine runs when nobody says (a choice
of configuration: the engines themselves only take tokens in and give tokens out).

gpt-oss-20b where a CUDA GPU and its weights are present (a local checkpoint directory named
by `HARMONY_AGENT_MODEL`, or the hub's `openai/gpt-oss-20b` in the local cache); otherwise the
tiny gpt-oss checkpoint shipped with `harmony_agent.tiny`, on the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harmony_agent.engines import VLLMEngine, VLLMSettings

__all__ = ["GPT_OSS_20B", "DefaultModel", "default_engine", "default_model"]

GPT_OSS_20B = "openai/gpt-oss-20b"
"""The hub id of the model the runtime is built for first."""


@dataclass(frozen=True)
class DefaultModel:
    """What the default engine runs: `model` (a hub id or directory), or, when `model` is None,
    the tiny CPU checkpoint; `reason` says why in words a person can act on.
    """

    model: str | None
    reason: str


def default_model() -> DefaultModel:
    """Chooses the embedded default from this machine's GPU and the weights it has."""
    if not _has_cuda():
        return DefaultModel(None, "no CUDA GPU found")
    explicit = os.environ.get("HARMONY_AGENT_MODEL")
    if explicit:
        if not (Path(explicit).expanduser() / "config.json").is_file():
            return DefaultModel(None, f"HARMONY_AGENT_MODEL={explicit} has no config.json")
        return DefaultModel(explicit, f"HARMONY_AGENT_MODEL={explicit}")
    if _cached(GPT_OSS_20B):
        return DefaultModel(GPT_OSS_20B, f"{GPT_OSS_20B} found in the local hub cache")
    return DefaultModel(
        None,
        f"a GPU is present but {GPT_OSS_20B} is not downloaded "
        f"(huggingface-cli download {GPT_OSS_20B}, or set HARMONY_AGENT_MODEL)",
    )


def default_engine(choice: DefaultModel | None = None) -> VLLMEngine:
    """The in-process engine on `choice` (default: `default_model()`), not started yet, with
    structured outputs on (an agent's `constrain_output` works on it).

    For the tiny checkpoint this unpacks the one the package ships into the cache when the
    cache does not hold it (seconds), for agents with the default python tool.
    """
    choice = choice or default_model()
    if choice.model is not None:
        return VLLMEngine(VLLMSettings(model=choice.model, structured_outputs=True))
    from harmony_agent.tiny import build_checkpoint, tiny_engine_settings
    from harmony_agent.tools.python import PythonTool

    checkpoint = build_checkpoint(python=PythonTool().namespace)
    return VLLMEngine(tiny_engine_settings(checkpoint.path))


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _cached(repository: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(repository, "config.json")
    return isinstance(found, str)
