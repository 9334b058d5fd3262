"""A tiny gpt-oss checkpoint that performs real agent trajectories.

It has gpt-oss's architecture and full vocabulary at toy sizes, and is trained on runs of the
real agent loop: asked the weather in a city it calls `functions.get_weather` with the city and
answers with the temperature it gets back; asked a product A*B it runs `print(A*B)` with the
python tool and answers with the printed output. It runs through real vLLM on a CPU, so an
install can be checked end to end without a GPU.

The package ships it trained, in its compact vocabulary (`python -m harmony_agent.tiny` trains
it again); the first use unpacks it into the cache in seconds. Agents whose python tool has
other settings get one trained for them on first use (minutes). Both need the `cpu` extra
(torch, transformers).
"""

from harmony_agent.tiny._checkpoint import TinyCheckpoint, build_checkpoint, default_cache_dir
from harmony_agent.tiny._progress import BuildProgress, BuildStage, ProgressCallback
from harmony_agent.tiny._recipe import DataSettings
from harmony_agent.tiny._selftest import (
    SelftestCase,
    SelftestReport,
    aselftest,
    tiny_engine_settings,
)
from harmony_agent.tiny._tasks import get_weather, tiny_agent

__all__ = [
    "BuildProgress",
    "BuildStage",
    "DataSettings",
    "ProgressCallback",
    "SelftestCase",
    "SelftestReport",
    "TinyCheckpoint",
    "aselftest",
    "build_checkpoint",
    "default_cache_dir",
    "get_weather",
    "tiny_agent",
    "tiny_engine_settings",
]
