"""An MCP server (stdio) with the tiny checkpoint's `get_weather`: the same name, description
and JSON Schema as `harmony_agent.tiny`'s function, every city at the temperature given as
the first argument.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import mcp_types
from harmony_agent.tiny._tasks import weather_tool
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server


async def main(temperature_c: int) -> None:
    weather = weather_tool(temperature_c)
    tool = mcp_types.Tool(
        name=weather.name,
        description=weather.description,
        input_schema=dict(weather.parameters or {}),
    )

    async def list_tools(ctx: Any, params: Any) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=[tool])

    async def call_tool(
        ctx: Any, params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        output = await weather.call(json.dumps(params.arguments or {}))
        return mcp_types.CallToolResult(
            content=[mcp_types.TextContent(type="text", text=output.text)]
        )

    server = Server("weather", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
