"""The README's Python examples run as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from harmony_agent import Agent, RunResult
from harmony_agent.engines import ScriptedEngine

README = Path(__file__).parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


def test_quickstart_runs() -> None:
    namespace: dict[str, object] = {}
    exec(python_blocks()[0], namespace)
    follow_up = namespace["follow_up"]
    assert isinstance(follow_up, RunResult)
    assert follow_up.final_text == "No forecast tool here, sorry."


async def test_streaming_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {}
    exec(python_blocks()[0].split("result = agent.run")[0], namespace)
    namespace["agent"] = Agent(
        engine=ScriptedEngine(
            [
                '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>',
                "<|channel|>final<|message|>Sunny.<|return|>",
            ]
        ),
        tools=[namespace["get_weather"]],  # type: ignore[list-item]
    )
    exec("async def main():\n" + textwrap.indent(python_blocks()[1], "    "), namespace)
    await namespace["main"]()  # type: ignore[operator]
    printed = capsys.readouterr().out
    assert '[functions.get_weather] {"city": "Paris"}\nSunny.\nfinal: ' in printed
