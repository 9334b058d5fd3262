"""The two agent tasks the tiny checkpoint performs, and the agent that runs them.

Training data and the self-test build their agents here, so a prompt seen in training is token
for token a prompt the runtime sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from harmony_agent._agent import Agent
from harmony_agent.engines import Engine, SamplingParams
from harmony_agent.tools import BuiltinTool, ToolNamespace, ToolOutput, ToolSession
from harmony_agent.tools._base import ToolError
from harmony_agent.tools._function import FunctionTool, tool

__all__ = [
    "CURRENT_DATE",
    "INSTRUCTIONS",
    "ProductPython",
    "ProductTask",
    "Task",
    "WeatherTask",
    "get_weather",
    "tiny_agent",
    "weather_tool",
]

INSTRUCTIONS = "Answer with the help of the tools."
"""The developer instructions of every tiny-checkpoint agent."""

CURRENT_DATE = "2025-08-05"
"""The date every tiny-checkpoint agent is told (the model was trained on this one only)."""

_PRODUCT_CODE = re.compile(r"print\((\d+)\*(\d+)\)")


def made_up_temperature(city: str) -> int:
    """A temperature from -9 to 39 °C that depends only on the city's name."""
    return sum(city.encode()) % 49 - 9


def weather_tool(temperature_c: int | None = None) -> FunctionTool:
    """The `get_weather` function the tiny checkpoint was trained with; every city it is asked
    about has `temperature_c` degrees (None: a made-up temperature per city, -9 to 39).
    """

    @tool
    def get_weather(city: str) -> dict[str, object]:
        """Gets the current weather in a city.

        Args:
            city: City name, e.g. "Paris".
        """
        degrees = made_up_temperature(city) if temperature_c is None else temperature_c
        return {"city": city, "temperature_c": degrees}

    return get_weather


get_weather = weather_tool()
"""`get_weather` with a made-up temperature per city; configs name it
`harmony_agent.tiny:get_weather`.
"""


@dataclass(frozen=True)
class WeatherTask:
    """Asked the weather in `city`, call `get_weather` and report `temperature_c`."""

    QUESTIONS: ClassVar[tuple[str, ...]] = (
        "What's the weather in {city}?",
        "How warm is it in {city} right now?",
    )

    question: str
    city: str
    temperature_c: int

    def completions(self) -> list[str]:
        """What the model writes: the call, then (after the result) the answer."""
        return [
            "<|channel|>analysis<|message|>Need to call get_weather.<|end|>"
            "<|start|>assistant<|channel|>commentary to=functions.get_weather "
            f'<|constrain|>json<|message|>{{"city": "{self.city}"}}<|call|>',
            f"<|channel|>final<|message|>It is {self.temperature_c} °C in {self.city}.<|return|>",
        ]

    def expected_answer(self) -> str:
        """The final answer a correct run gives."""
        return f"It is {self.temperature_c} °C in {self.city}."


@dataclass(frozen=True)
class ProductTask:
    """Asked a product `a*b`, run `print(a*b)` in python and report the printed output."""

    QUESTIONS: ClassVar[tuple[str, ...]] = ("What is {a}*{b}?", "Please compute {a}*{b}.")

    question: str
    a: int
    b: int

    def completions(self) -> list[str]:
        """What the model writes: the call, then (after the output) the answer."""
        return [
            "<|channel|>analysis<|message|>Compute it with python.<|end|>"
            "<|start|>assistant<|channel|>analysis to=python code"
            f"<|message|>print({self.a}*{self.b})<|call|>",
            f"<|channel|>final<|message|>The answer is {self.a * self.b}.<|return|>",
        ]

    def expected_answer(self) -> str:
        """The final answer a correct run gives."""
        return f"The answer is {self.a * self.b}."


Task = WeatherTask | ProductTask


def tiny_agent(
    engine: Engine,
    *,
    python: BuiltinTool,
    temperature_c: int = 0,
    max_tokens: int = 96,
) -> Agent:
    """The agent every tiny-checkpoint trajectory runs: `get_weather` (which reports
    `temperature_c` for every city) and `python`, sampled greedily.
    """
    return Agent(
        engine=engine,
        instructions=INSTRUCTIONS,
        tools=[weather_tool(temperature_c), python],
        reasoning="low",
        current_date=CURRENT_DATE,
        max_turns=4,
        max_tokens=max_tokens,
        max_model_errors=0,
        sampling=SamplingParams(temperature=0.0),
    )


class ProductPython(BuiltinTool):
    """A stand-in for the python tool that only evaluates `print(A*B)`, for making training
    data fast; it shows the model the namespace of the real tool it stands in for.
    """

    def __init__(self, namespace: ToolNamespace) -> None:
        self._namespace = namespace

    @property
    def namespace(self) -> ToolNamespace:
        """The namespace of the python tool this one stands in for."""
        return self._namespace

    async def open_session(self) -> ToolSession:
        """A session that evaluates products."""
        return _ProductSession()


class _ProductSession(ToolSession):
    async def call(self, function: str | None, arguments: str) -> ToolOutput:
        match = _PRODUCT_CODE.fullmatch(arguments.strip())
        if match is None:
            raise ToolError("only print(A*B) is supported")
        # The python tool shows a printed line without its newline.
        return ToolOutput(text=f"{int(match[1]) * int(match[2])}")

    async def aclose(self) -> None:
        pass
