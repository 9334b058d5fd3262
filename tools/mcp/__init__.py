"""MCP both ways: tools from MCP servers for an agent (`MCPToolset` over `MCPStdioServer` and
`MCPHTTPServer` configs), and this project's python and browser tools served over MCP
(`harmony-agent mcp python|browser`). Needs the `mcp` extra to connect or serve.
"""

from harmony_agent.tools.mcp._config import MCPHTTPServer, MCPServerConfig, MCPStdioServer
from harmony_agent.tools.mcp._errors import MCPServerUnavailable
from harmony_agent.tools.mcp._toolset import MCPToolset

__all__ = [
    "MCPHTTPServer",
    "MCPServerConfig",
    "MCPServerUnavailable",
    "MCPStdioServer",
    "MCPToolset",
]
