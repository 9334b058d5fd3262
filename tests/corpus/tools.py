"""The tools the corpus runs with; each records what it received."""

from __future__ import annotations

from typing import Literal

from harmony_agent import FunctionTool, tool
from harmony_agent.tools import BuiltinTool, ToolNamespace, ToolOutput, ToolSession
from pydantic import BaseModel

Received = list[tuple[str, object]]


class Match(BaseModel):
    """Which requests a rule applies to."""

    path: str
    methods: list[Literal["GET", "POST", "PUT", "DELETE"]]


class Rule(BaseModel):
    """Allow or deny matching requests."""

    match: Match
    allow: bool


class Settings(BaseModel):
    """A deployment's settings."""

    name: str
    limits: dict[str, dict[str, str]]
    rules: list[Rule]


def corpus_functions(received: Received) -> list[FunctionTool]:
    """get_weather, write_file and configure, recording their arguments in `received`."""

    @tool
    def get_weather(
        city: str, unit: Literal["celsius", "fahrenheit"] = "celsius"
    ) -> dict[str, object]:
        """Gets the current weather in a city.

        Args:
            city: City name, e.g. "Paris".
            unit: Temperature unit.
        """
        received.append(("get_weather", {"city": city, "unit": unit}))
        return {"city": city, "temperature": 20, "unit": unit}

    @tool
    async def write_file(path: str, content: str) -> str:
        """Writes a text file.

        Args:
            path: Path relative to the project.
            content: The whole file.
        """
        received.append(("write_file", {"path": path, "content": content}))
        return f"wrote {len(content)} characters to {path}"

    @tool
    def configure(settings: Settings) -> str:
        """Applies deployment settings.

        Args:
            settings: The settings.
        """
        assert isinstance(settings, Settings)
        received.append(("configure", settings.model_dump()))
        return "applied"

    return [get_weather, write_file, configure]


class RecordingPython(BuiltinTool):
    """Stands in for the sandboxed python tool: records the code and answers `ok`."""

    def __init__(self, received: Received) -> None:
        self._received = received
        self.sessions_open = 0

    @property
    def namespace(self) -> ToolNamespace:
        return ToolNamespace("python")

    async def open_session(self) -> ToolSession:
        self.sessions_open += 1
        return _PythonSession(self)


class _PythonSession(ToolSession):
    def __init__(self, tool: RecordingPython) -> None:
        self._tool = tool

    async def call(self, function: str | None, arguments: str) -> ToolOutput:
        self._tool._received.append(("python", arguments))
        return ToolOutput("ok")

    async def aclose(self) -> None:
        self._tool.sessions_open -= 1
