"""Functions used by the example config `function-calling.yaml`."""

from typing import Literal

from harmony_agent import tool


@tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, object]:
    """Gets the current weather in a city.

    Args:
        city: City name, e.g. "Paris".
        unit: Temperature unit.
    """
    return {"city": city, "temperature": 21 if unit == "celsius" else 70, "unit": unit}


def convert(value: float, to: str) -> float:
    """Converts a temperature to `to` (celsius or fahrenheit)."""
    return round((value - 32) * 5 / 9, 1) if to == "celsius" else round(value * 9 / 5 + 32, 1)
