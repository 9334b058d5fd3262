"""`run` (one prompt, streamed) and `show` (a saved trace, rendered the same way)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
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
from harmony_agent.cli._exit import ExitCode, UserError
from harmony_agent.cli._terminal import printable_json

if TYPE_CHECKING:
    from harmony_agent import RunResult
    from harmony_agent.config import AgentConfig

__all__ = ["run", "show"]


@handles_errors
def run(
    config_path: ConfigArgument,
    prompt: Annotated[
        str | None, typer.Argument(help="The prompt; `-` or none: read stdin.")
    ] = None,
    hide_reasoning: HideReasoning = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead.")] = False,
    trace_path: TraceOption = None,
) -> None:
    """Run the agent on one prompt and stream what it does (Ctrl-C stops it, exit 130)."""
    from harmony_agent import StopReason

    config = load(config_path)
    announce_engine(config)
    text = sys.stdin.read() if prompt in (None, "-") else prompt
    if not text or not text.strip():
        raise UserError("the prompt is empty: give it as an argument or on stdin")
    result = asyncio.run(_run(config, text, hide_reasoning, as_json, trace_path))
    if as_json:
        sys.stdout.write(printable_json(redactor().value(_result_json(result))) + "\n")
    if result.stop_reason is StopReason.CANCELLED:
        raise typer.Exit(ExitCode.INTERRUPTED)
    if not result.ok:
        raise typer.Exit(ExitCode.INCOMPLETE)


async def _run(
    config: AgentConfig, prompt: str, hide_reasoning: bool, as_json: bool, trace_path: Path | None
) -> RunResult:
    from harmony_agent.cli._printer import RunPrinter
    from harmony_agent.cli._turn import stream_turn

    show_reasoning = config.output.show_reasoning and not hide_reasoning
    printer = RunPrinter(console, show_reasoning=show_reasoning, redactor=redactor())
    trace = open_trace(config, trace_path)
    try:
        async with config.open() as agent:
            return await stream_turn(
                agent,
                prompt,
                history=None,
                show=(lambda record: None) if as_json else printer,
                trace=trace,
                cancel_on_interrupt=True,
            )
    finally:
        printer.close()
        if trace is not None:
            trace.close()


def _result_json(result: RunResult) -> dict[str, Any]:
    from harmony_agent.traces import result_record, tool_result_record

    fields: dict[str, Any] = {**result_record(result)}
    del fields["type"]
    calls: list[dict[str, Any]] = [
        {**tool_result_record(call), "arguments": call.call.arguments} for call in result.tool_calls
    ]
    for call in calls:
        del call["type"]
    fields["tool_calls"] = calls
    return fields


@handles_errors
def show(
    trace_path: Annotated[Path, typer.Argument(help="A JSONL trace written by a run.")],
    hide_reasoning: HideReasoning = False,
) -> None:
    """Render a saved trace the way `run` showed it."""
    from harmony_agent.cli._printer import RunPrinter
    from harmony_agent.traces import read_trace

    if not trace_path.is_file():
        raise UserError(f"{trace_path}: no such file")
    printer = RunPrinter(
        console, show_reasoning=not hide_reasoning, echo_prompt=True, redactor=redactor()
    )
    try:
        for number, record in enumerate(read_trace(trace_path), start=1):
            kind = repr(str(record["type"])[:40])
            try:
                printer(record)
            except KeyError as error:
                # a field a run writes is missing (a hand-made or damaged trace)
                raise UserError(
                    f"{trace_path}: record {number} ({kind}) lacks the field {error}"
                ) from None
            except (TypeError, AttributeError, LookupError, ValueError) as error:
                # a field of another shape than a run writes
                raise UserError(
                    f"{trace_path}: record {number} ({kind}) has a field of the wrong type: "
                    f"{type(error).__name__}"
                ) from None
    except ValueError as error:
        raise UserError(str(error)) from None
    finally:
        printer.close()
