"""`demo`: an agent run on the embedded default engine, the first thing a new user runs.

Every step that can take a while shows progress; what vLLM, torch and the other libraries
print goes into a log file in the cache directory unless `--verbose` asks for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from harmony_agent.cli._app import HideReasoning, default_engine_line, handles_errors
from harmony_agent.cli._library_log import library_output_into
from harmony_agent.cli._progress import ProgressDisplay
from rich.console import Console
from rich.panel import Panel

if TYPE_CHECKING:
    from harmony_agent import Agent
    from harmony_agent.engines import VLLMEngine

__all__ = ["demo"]

_QUESTIONS = ("What's the weather in Paris?", "What is 37*91?")
"""What the demo asks gpt-oss-20b."""
_LOG = "demo.log"
"""The libraries' log, in the cache directory."""

Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose", help="Show what vLLM, torch and the other libraries print (their logs)."
    ),
]


@handles_errors
def demo(hide_reasoning: HideReasoning = False, verbose: Verbose = False) -> None:
    """Ask an agent with a weather function and the python sandbox two questions.

    The engine is gpt-oss-20b in-process where a GPU and its weights are present, else the tiny
    gpt-oss checkpoint on the CPU.
    """
    with _terminal(verbose) as terminal:
        console = Console(file=terminal, highlight=False)
        asyncio.run(_demo(console, show_reasoning=not hide_reasoning))


@contextlib.contextmanager
def _terminal(verbose: bool) -> Iterator[TextIO]:
    """The terminal's output. Unless `verbose`, the libraries' output goes to the log, and
    harmony_agent's own warnings (a degraded sandbox) to the terminal.
    """
    if verbose:
        # vLLM's INFO logs, unless an explicit level says otherwise
        if os.environ.get("VLLM_LOGGING_LEVEL") == "ERROR":
            os.environ["VLLM_LOGGING_LEVEL"] = "INFO"
        yield sys.stdout
        return
    from harmony_agent.tiny import default_cache_dir

    with library_output_into(default_cache_dir() / _LOG) as terminal:
        warnings = logging.StreamHandler(terminal)
        warnings.setLevel(logging.WARNING)
        warnings.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logger = logging.getLogger("harmony_agent")
        logger.addHandler(warnings)
        try:
            yield terminal
        finally:
            logger.removeHandler(warnings)


async def _demo(console: Console, *, show_reasoning: bool) -> None:
    from harmony_agent.cli._printer import RunPrinter
    from harmony_agent.cli._turn import stream_turn
    from harmony_agent.config import default_model

    with ProgressDisplay(console) as progress, progress.step("Looking for a GPU"):
        choice = await asyncio.to_thread(default_model)
    line = default_engine_line(choice)
    if choice.model is None:
        console.print(
            Panel(
                f"{line}\nIt is gpt-oss's architecture and vocabulary at toy size, trained on "
                "runs of this agent, so it shows the whole stack working, not a useful model.",
                title="tiny checkpoint",
                border_style="yellow",
            )
        )
    else:
        console.print(line)
    async with contextlib.AsyncExitStack() as stack:
        with ProgressDisplay(console) as progress:
            engine, runs = await asyncio.to_thread(_agents, choice.model, progress)
            stack.push_async_callback(_stop, engine, console)
            where = "on the CPU" if choice.model is None else f"with {choice.model}"
            with progress.step(f"Starting vLLM {where}"):
                await engine.start()
        for agent, question in runs:
            printer = RunPrinter(console, show_reasoning=show_reasoning, echo_prompt=True)
            try:
                await stream_turn(agent, question, history=None, show=printer, trace=None)
            finally:
                printer.close()


async def _stop(engine: VLLMEngine, console: Console) -> None:
    with ProgressDisplay(console) as progress, progress.step("Stopping vLLM"):
        await engine.aclose()


def _agents(
    model: str | None, progress: ProgressDisplay
) -> tuple[VLLMEngine, list[tuple[Agent, str]]]:
    """The engine (not started) and the demo's agents with their questions: the tiny
    checkpoint's own tasks when `model` is None (it is unpacked or trained first).
    """
    from harmony_agent import Agent
    from harmony_agent.engines import VLLMEngine, VLLMSettings
    from harmony_agent.tiny import build_checkpoint, tiny_agent, tiny_engine_settings
    from harmony_agent.tiny._selftest import pick_tasks
    from harmony_agent.tiny._tasks import INSTRUCTIONS, WeatherTask, get_weather
    from harmony_agent.tools.python import PythonTool

    python = PythonTool()
    if model is None:
        # The demo constrains no output: vLLM needs no tokenizer, which saves its start time.
        checkpoint = build_checkpoint(python=python.namespace, tokenizer=False, progress=progress)
        engine = VLLMEngine(tiny_engine_settings(checkpoint.path, structured_outputs=False))
        runs = []
        for task in pick_tasks(checkpoint):
            degrees = task.temperature_c if isinstance(task, WeatherTask) else 0
            runs.append((tiny_agent(engine, python=python, temperature_c=degrees), task.question))
        return engine, runs
    engine = VLLMEngine(VLLMSettings(model=model))
    agent = Agent(
        engine=engine, instructions=INSTRUCTIONS, tools=[get_weather, python], reasoning="low"
    )
    return engine, [(agent, question) for question in _QUESTIONS]
