"""A tiny gpt-oss checkpoint, trained here, that performs real agent trajectories.

It has gpt-oss's architecture and full vocabulary at toy sizes, and is trained (once, then
cached) on runs of the real agent loop: asked the weather in a city it calls
`functions.get_weather` with the city and answers with the temperature it gets back; asked a
product A*B it runs `print(A*B)` with the python tool and answers with the printed output. It
runs through real vLLM on a CPU, so an install can be checked end to end without a GPU.
Training needs the `cpu` extra (torch, transformers).
"""

from harmony_agent.tiny._checkpoint import (
    DataSettings,
    TinyCheckpoint,
    build_checkpoint,
    default_cache_dir,
)
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
    "DataSettings",
    "ProductPython",
    "ProductTask",
    "SelftestCase",
    "SelftestReport",
    "Task",
    "TinyCheckpoint",
    "WeatherTask",
    "aselftest",
    "build_checkpoint",
    "default_cache_dir",
    "get_weather",
    "made_up_temperature",
    "pick_tasks",
    "tiny_agent",
    "tiny_engine_settings",
    "weather_tool",
]
