"""An MCP server for the client's tests, built with the SDK's MCPServer (FastMCP): run as a
script it serves over stdio; `app()` gives its streamable HTTP app.

Its tools: the tiny model's `get_weather` (same name, description and schema as
`harmony_agent.tiny.get_weather`), and tools that misbehave on purpose.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ImageContent, TextContent

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def build() -> MCPServer:
    """The test server with all its tools."""
    server = MCPServer("test-server")

    @server.tool()
    def get_weather(city: str) -> dict[str, object]:
        """Gets the current weather in a city.

        Args:
            city: City name, e.g. "Paris".
        """
        return {"city": city, "temperature_c": 21}

    @server.tool()
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool()
    def crash() -> str:
        """Ends the server's process at once."""
        os._exit(3)

    @server.tool()
    async def slow(seconds: float) -> str:
        """Sleeps, then answers."""
        await asyncio.sleep(seconds)
        return "done"

    @server.tool()
    def big(characters: int) -> str:
        """A text of that many characters."""
        return "x" * characters

    @server.tool()
    def header(name: str, ctx: Context) -> str:
        """The value of a header of the HTTP request that made the call."""
        request = ctx.request_context.request
        return "" if request is None else str(request.headers.get(name, ""))

    @server.tool()
    def fail() -> str:
        """Raises an error (an isError result)."""
        raise ValueError("the city is closed today")

    @server.tool()
    def picture() -> list[Any]:
        """A one-pixel PNG and a caption."""
        data = base64.b64encode(PNG).decode()
        return [
            TextContent(type="text", text="a pixel"),
            ImageContent(type="image", data=data, mime_type="image/png"),
        ]

    @server.tool()
    async def grow(ctx: Context) -> str:
        """Adds the tool `extra` and tells the client its tool list changed."""

        @server.tool()
        def extra() -> str:
            """A tool added while the server runs."""
            return "extra"

        await ctx.session.send_tool_list_changed()
        return "grown"

    return server


if __name__ == "__main__":
    build().run("stdio")
    sys.exit(0)
