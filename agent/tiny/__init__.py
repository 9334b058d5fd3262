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
from harmony_agent.tiny._recipe import DataSettings, default_python_namespaces
from harmony_agent.tiny._selftest import (
    SelftestCase,
    SelftestReport,
    aselftest,
    pick_tasks,
    tiny_engine_settings,
)
from harmony_agent.tiny._tasks import (
    CURRENT_DATE,
    INSTRUCTIONS,
    ProductPython,
    ProductTask,
    Task,
    WeatherTask,
    get_weather,
    made_up_temperature,
    tiny_agent,
    weather_tool,
)

__all__ = [
    "CURRENT_DATE",
    "INSTRUCTIONS",
    "BuildProgress",
    "BuildStage",
    "DataSettings",
    "ProductPython",
    "ProductTask",
    "ProgressCallback",
    "SelftestCase",
    "SelftestReport",
    "Task",
    "TinyCheckpoint",
    "WeatherTask",
    "aselftest",
    "build_checkpoint",
    "default_cache_dir",
    "default_python_namespaces",
    "get_weather",
    "made_up_temperature",
    "pick_tasks",
    "tiny_agent",
    "tiny_engine_settings",
    "weather_tool",
]
