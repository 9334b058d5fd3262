"""`chat`: an interactive multi-turn session; Ctrl-C cancels the current turn only."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from harmony_agent.cli._app import (
    ConfigArgument,
    HideReasoning,
    TraceOption,
    announce_engine,
    console,
    handles_errors,
    load,
    open_trace,
    redactor,
)
from rich.text import Text

if TYPE_CHECKING:
    from harmony_agent import History

__all__ = ["chat"]

_HELP = "Type a message. /new starts over, /exit (or Ctrl-D) ends, Ctrl-C stops a turn."


@handles_errors
def chat(
    config_path: ConfigArgument,
    hide_reasoning: HideReasoning = False,
    trace_path: TraceOption = None,
) -> None:
    """Chat with the agent: history is kept (earlier reasoning pruned), Ctrl-C stops a turn."""
    from harmony_agent import StopReason
    from harmony_agent.cli._printer import RunPrinter
    from harmony_agent.cli._turn import stream_turn

    config = load(config_path)
    announce_engine(config)
    printer = RunPrinter(
        console,
        show_reasoning=config.output.show_reasoning and not hide_reasoning,
        redactor=redactor(),
    )
    trace = open_trace(config, trace_path)
    history: History | None = None
    with asyncio.Runner() as runner, contextlib.ExitStack() as cleanup:
        stack = contextlib.AsyncExitStack()
        agent = runner.run(stack.enter_async_context(config.open()))
        cleanup.callback(lambda: runner.run(stack.aclose()))
        if trace is not None:
            cleanup.callback(trace.close)
        console.print(Text(_HELP, style="dim"))
        while True:
            try:
                line = console.input("[bold green]you>[/] ")
            except KeyboardInterrupt:
                console.print()
                continue
            except EOFError:
                console.print()
                return
            prompt = line.strip()
            if prompt in ("/exit", "/quit"):
                return
            if prompt == "/new":
                history = None
                console.print(Text("(new conversation)", style="dim"))
                continue
            if not prompt:
                continue
            result = runner.run(
                stream_turn(
                    agent,
                    prompt,
                    history=history,
                    show=printer,
                    trace=trace,
                    cancel_on_interrupt=True,
                )
            )
            printer.close()
            if result.stop_reason is StopReason.CANCELLED:
                console.print(
                    Text("(turn cancelled; the conversation goes on without it)", style="yellow")
                )
            else:
                history = result.history
