"""The tools and the answer schema the end-to-end agents use."""

from __future__ import annotations

from harmony_agent.tools import BuiltinTool
from harmony_agent.tools.python import PythonTool


def python_tool() -> BuiltinTool:
    """The python tool of the end-to-end runs: the real sandboxed kernel, default settings."""
    return PythonTool()


CITIES = ["Paris", "Oslo", "Lima", "Tokyo"]
WEATHER_REPORT = {
    "title": "weather_report",
    "type": "object",
    "properties": {
        "city": {"type": "string", "enum": CITIES},
        "temperature_c": {"type": "integer", "minimum": -60, "maximum": 60},
    },
    "required": ["city", "temperature_c"],
    "additionalProperties": False,
}
"""A structured answer the tiny model was never trained to give (it answers in prose)."""
