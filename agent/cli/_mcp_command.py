"""`mcp`: this project's python and browser tools served over MCP; and what `validate` says
of a config's MCP servers (each connected, its tools listed).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from harmony_agent.cli._app import console, print_problem
from harmony_agent.cli._terminal import printable
from rich.text import Text

if TYPE_CHECKING:
    from harmony_agent.config import AgentConfig

__all__ = ["check_mcp_servers"]


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
