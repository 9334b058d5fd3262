"""`mcp`: this project's python and browser tools served over MCP; and what `validate` says
of a config's MCP servers (each connected, its tools listed).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from harmony_agent.cli._app import console, error_console, handles_errors, load, print_problem
from harmony_agent.cli._exit import UserError
from harmony_agent.cli._terminal import printable
from rich.text import Text

if TYPE_CHECKING:
    from harmony_agent.config import AgentConfig
    from harmony_agent.tools.mcp._serving import ToolServer

__all__ = ["check_mcp_servers", "mcp"]


class Served(enum.StrEnum):
    """The tools `mcp` can serve."""

    PYTHON = "python"
    BROWSER = "browser"


@handles_errors
def mcp(
    tool: Annotated[Served, typer.Argument(help="The tool to serve: python or browser.")],
    http: Annotated[
        int | None,
        typer.Option("--http", help="Serve streamable HTTP on this port (default: stdio)."),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="The address --http listens on.")] = (
        "127.0.0.1"
    ),
    config_path: Annotated[
        Path | None,
        typer.Option("--config", help="Take tools.python / tools.browser from this config."),
    ] = None,
) -> None:
    """Serve the sandboxed python tool or the browser over MCP, for other agents.

    Each MCP session gets its own kernel (python) or pages (browser). Over stdio (the
    default) the server ends when its stdin closes; with --http it serves at
    http://HOST:PORT/mcp until stopped.
    """
    server = _tool_server(tool, None if config_path is None else load(config_path))
    if http is not None:
        error_console.print(f"serving {tool.value} over MCP at http://{host}:{http}/mcp")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server (sessions closed)
        asyncio.run(server.serve("stdio" if http is None else "http", host, http or 0))


def _tool_server(tool: Served, config: AgentConfig | None) -> ToolServer:
    from harmony_agent import _harmony
    from harmony_agent.tools.browser import Browser
    from harmony_agent.tools.mcp._serving import ToolServer, browser_functions, python_functions
    from harmony_agent.tools.python import PythonTool

    if tool is Served.PYTHON:
        settings = None if config is None else config.tools.python
        if config is not None and settings is None:
            raise UserError("the config has no tools.python to serve")
        python = PythonTool(settings)
        description = python.namespace.description or ""
        return ToolServer(python, python_functions(description))
    browser_settings = None if config is None else config.tools.browser
    if config is not None and browser_settings is None:
        raise UserError("the config has no tools.browser to serve")
    namespace = _harmony.trained_namespace("browser")
    browser = Browser(browser_settings, count_tokens=_harmony.count_tokens)
    return ToolServer(browser, browser_functions(namespace), instructions=namespace.description)


def check_mcp_servers(config: AgentConfig) -> bool:
    """Connects to each MCP server of `config` and prints the tools it shows; False when
    one could not be used (the problem is printed).
    """
    return asyncio.run(_check(config))


async def _check(config: AgentConfig) -> bool:
    from harmony_agent.tools.mcp import MCPServerUnavailable, MCPToolset

    ok = True
    for server in config.tools.mcp:
        try:
            async with MCPToolset([server]) as toolset:
                names = [function.name for function in toolset.functions]
        except MCPServerUnavailable as error:
            print_problem("error", str(error))
            ok = False
            continue
        listed = ", ".join(names) or "no tools shown"
        console.print(Text.assemble("  mcp ", (server.name, "bold"), f": {printable(listed)}"))
    return ok
