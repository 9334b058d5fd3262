"""`schema` and `validate`: config files for editors and scripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from harmony_agent.cli._app import console, handles_errors, load, print_problem
from harmony_agent.cli._exit import ExitCode
from harmony_agent.cli._terminal import printable
from rich.text import Text

__all__ = ["schema", "validate"]


@handles_errors
def schema(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write it to this file.")
    ] = None,
) -> None:
    """Print the JSON Schema of agent config files (for editors)."""
    from harmony_agent.config import AgentConfig

    text = json.dumps(AgentConfig.model_json_schema(), indent=2)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n", encoding="utf-8")


@handles_errors
def validate(configs: Annotated[list[Path], typer.Argument(help="Config files to check.")]) -> None:
    """Check config files: keys, types, environment variables, files, function imports, and
    each MCP server (connected, its tools listed).
    """
    from harmony_agent.cli._mcp_command import check_mcp_servers
    from harmony_agent.config import ConfigFileError

    failed = False
    for path in configs:
        try:
            config = load(path)
        except ConfigFileError as error:
            failed = True
            for problem in error.problems:
                print_problem("error", problem)
        else:
            console.print(Text.assemble(("ok", "green"), f" {printable(str(path))}"))
            failed |= not check_mcp_servers(config)
    if failed:
        raise typer.Exit(ExitCode.USAGE)
