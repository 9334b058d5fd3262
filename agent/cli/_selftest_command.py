"""`selftest`: the whole install checked end to end, without a GPU or the real weights."""

from __future__ import annotations

import asyncio

import typer
from harmony_agent.cli._app import console, handles_errors
from harmony_agent.cli._exit import ExitCode
from rich.table import Table

__all__ = ["selftest"]


@handles_errors
def selftest() -> None:
    """Run the tiny gpt-oss checkpoint's two tasks through real vLLM, tools and sandbox."""
    from harmony_agent.tiny import aselftest
    from harmony_agent.tools.python import PythonTool

    console.print(
        "Loading the tiny gpt-oss checkpoint (the first time unpacks it), then starting vLLM "
        "on it..."
    )
    report = asyncio.run(aselftest(PythonTool()))
    checkpoint = report.checkpoint
    console.print(
        f"checkpoint {checkpoint.path} (trained in {checkpoint.training_seconds:.0f} s, "
        f"{checkpoint.held_out_accuracy:.1%} of unseen runs exact); "
        f"vLLM started in {report.engine_start_seconds:.1f} s"
    )
    table = Table("task", "tool call", "answer", "s", "")
    for case in report.cases:
        call = case.result.tool_calls[0].call if case.result.tool_calls else None
        table.add_row(
            case.task.question,
            "-" if call is None else f"{call.recipient} {call.arguments}",
            case.result.final_text or f"({case.result.stop_reason})",
            f"{case.seconds:.2f}",
            "[green]pass[/]" if case.passed else f"[red]expected {case.task.expected_answer()}[/]",
        )
    console.print(table)
    if not report.passed:
        console.print("[red]selftest failed[/]")
        raise typer.Exit(ExitCode.INCOMPLETE)
    console.print("[green]selftest passed[/]")
