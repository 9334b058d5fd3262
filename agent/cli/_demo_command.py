"""`demo`: an agent run on the embedded default engine, the first thing a new user runs."""

from __future__ import annotations

import asyncio

from harmony_agent.cli._app import HideReasoning, console, default_engine_line, handles_errors
from rich.panel import Panel

__all__ = ["demo"]

_QUESTIONS = ("What's the weather in Paris?", "What is 37*91?")
"""What the demo asks gpt-oss-20b."""


@handles_errors
def demo(hide_reasoning: HideReasoning = False) -> None:
    """Ask an agent with a weather function and the python sandbox two questions.

    The engine is gpt-oss-20b in-process where a GPU and its weights are present, else the tiny
    gpt-oss checkpoint on the CPU.
    """
    from harmony_agent.config import default_model

    choice = default_model()
    line = default_engine_line(choice)
    if choice.model is None:
        console.print(
            Panel(
                f"{line}\nIt is gpt-oss's architecture and vocabulary at toy size, trained here "
                "(minutes, the first time), so it shows the whole stack working, not a useful "
                "model.",
                title="tiny checkpoint",
                border_style="yellow",
            )
        )
    else:
        console.print(line)
    asyncio.run(_demo(choice.model, show_reasoning=not hide_reasoning))


async def _demo(model: str | None, *, show_reasoning: bool) -> None:
    from harmony_agent import Agent
    from harmony_agent.cli._printer import RunPrinter
    from harmony_agent.cli._turn import stream_turn
    from harmony_agent.engines import VLLMEngine, VLLMSettings
    from harmony_agent.tiny import (
        INSTRUCTIONS,
        WeatherTask,
        build_checkpoint,
        get_weather,
        pick_tasks,
        tiny_agent,
        tiny_engine_settings,
    )
    from harmony_agent.tools.python import PythonTool

    python = PythonTool()
    runs: list[tuple[Agent, str]] = []
    if model is None:
        checkpoint = await asyncio.to_thread(build_checkpoint, python=python.namespace)
        engine = VLLMEngine(tiny_engine_settings(checkpoint.path))
        for task in pick_tasks(checkpoint):
            degrees = task.temperature_c if isinstance(task, WeatherTask) else 0
            runs.append((tiny_agent(engine, python=python, temperature_c=degrees), task.question))
    else:
        engine = VLLMEngine(VLLMSettings(model=model))
        agent = Agent(
            engine=engine, instructions=INSTRUCTIONS, tools=[get_weather, python], reasoning="low"
        )
        runs = [(agent, question) for question in _QUESTIONS]
    async with engine:
        for agent, question in runs:
            printer = RunPrinter(console, show_reasoning=show_reasoning, echo_prompt=True)
            try:
                await stream_turn(agent, question, history=None, show=printer, trace=None)
            finally:
                printer.close()
