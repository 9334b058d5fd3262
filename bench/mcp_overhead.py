"""Call overhead of an MCP tool against the same function called in-process.

The function is the tiny checkpoint's `get_weather` (validate the arguments, build a small
dict, render it as JSON). In-process it is a `FunctionTool`; over MCP the same tool is served
by a separate process built on the MCP SDK's low-level server, reached by this project's client
(`MCPToolset`) over stdio and over streamable HTTP on loopback. Each timing is one
`FunctionTool.call` as the agent loop makes it: arguments text in, `ToolOutput` out.

Run: .venv/bin/python bench/mcp_overhead.py  (writes bench/results/mcp.md; the file is not
named mcp.py: on the import path of scripts and of mypy it would hide the `mcp` package)
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harmony_agent.tiny._tasks import weather_tool
from harmony_agent.tools._function import FunctionTool
from harmony_agent.tools.mcp import MCPHTTPServer, MCPStdioServer, MCPToolset

CALLS = 500
WARMUP = 20
ARGUMENTS = '{"city": "Paris"}'
RESULT = Path(__file__).parent / "results" / "mcp.md"


def _server() -> Any:
    import mcp_types
    from mcp.server.lowlevel import Server

    weather = weather_tool(21)
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
        content: list[Any] = [mcp_types.TextContent(type="text", text=output.text)]
        return mcp_types.CallToolResult(content=content)

    return Server("weather", on_list_tools=list_tools, on_call_tool=call_tool)


async def _serve(transport: str, port: int) -> None:
    server = _server()
    if transport == "stdio":
        from mcp.server.stdio import stdio_server

        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
    else:
        import uvicorn

        app = server.streamable_http_app()
        await uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning")).serve()


async def _timed(function: FunctionTool) -> list[float]:
    for _ in range(WARMUP):
        await function.call(ARGUMENTS)
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        output = await function.call(ARGUMENTS)
        times.append((time.perf_counter() - start) * 1000)
    if json.loads(output.text) != {"city": "Paris", "temperature_c": 21}:
        raise RuntimeError(f"unexpected result: {output.text}")
    return times


async def _over_mcp(server: MCPStdioServer | MCPHTTPServer) -> list[float]:
    async with MCPToolset([server]) as toolset:
        [function] = toolset.functions
        return await _timed(function)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _http() -> list[float]:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "serve-http", str(port)
    )
    try:
        server = MCPHTTPServer(name="weather", url=f"http://127.0.0.1:{port}/mcp")
        for _ in range(100):  # until the server listens
            try:
                return await _over_mcp(server)
            except Exception:
                await asyncio.sleep(0.1)
        raise RuntimeError("the HTTP server did not start")
    finally:
        process.terminate()
        await process.wait()


def _row(name: str, times: Sequence[float], base: float) -> str:
    ordered = sorted(times)
    median = statistics.median(ordered)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return f"| {name} | {median:.3f} | {p99:.3f} | {median - base:+.3f} |"


async def main() -> None:
    in_process = await _timed(weather_tool(21))
    stdio = MCPStdioServer(name="weather", command=sys.executable, args=[__file__, "serve-stdio"])
    over_stdio = await _over_mcp(stdio)
    over_http = await _http()
    base = statistics.median(in_process)
    lines = [
        "# MCP tool call overhead",
        "",
        "Command: `.venv/bin/python bench/mcp_overhead.py`",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, {CALLS} calls "
        f"each after {WARMUP} warm-up calls, one at a time; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end (other work shared the CPUs).",
        "",
        "One `FunctionTool.call` of the tiny checkpoint's `get_weather` as the agent loop makes "
        "it (arguments validated, result rendered): in-process, and served by a separate MCP "
        "server process (the SDK's low-level server) reached by `MCPToolset` over stdio and "
        "over streamable HTTP on loopback.",
        "",
        "| how | median ms | p99 ms | median over in-process ms |",
        "|---|---:|---:|---:|",
        _row("in-process function", in_process, base),
        _row("MCP over stdio", over_stdio, base),
        _row("MCP over streamable HTTP", over_http, base),
        "",
    ]
    RESULT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("serve-"):
        transport = sys.argv[1].removeprefix("serve-")
        asyncio.run(_serve(transport, int(sys.argv[2]) if len(sys.argv) > 2 else 0))
    else:
        asyncio.run(main())
