from __future__ import annotations

from typing import Literal

import pytest
from harmony_agent import Agent, tool
from harmony_agent.engines import ScriptedEngine

DATE = "2026-11-24"


@tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, object]:
    """Gets the current weather in a city.

    Args:
        city: City name, e.g. "Paris".
        unit: Temperature unit.
    """
    return {"city": city, "temperature": 20, "unit": unit}


def make_agent(script: list[str], **settings: object) -> tuple[Agent, ScriptedEngine]:
    """An agent on a ScriptedEngine with a fixed date and low reasoning."""
    engine = ScriptedEngine(script)
    options: dict[str, object] = {"reasoning": "low", "current_date": DATE, "tools": [get_weather]}
    options.update(settings)
    return Agent(engine=engine, **options), engine  # type: ignore[arg-type]


@pytest.fixture
def weather_tool() -> object:
    return get_weather
