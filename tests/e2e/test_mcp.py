"""The tiny checkpoint through real vLLM with its `get_weather` served by an MCP server
instead of Python: the same tokens in the prompt, the same trajectory.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from harmony_agent.engines import VLLMEngine
from harmony_agent.tiny import TinyCheckpoint, tiny_agent
from harmony_agent.tiny._selftest import pick_tasks
from harmony_agent.tools import BuiltinTool
from harmony_agent.tools.mcp import MCPStdioServer, MCPToolset

pytestmark = pytest.mark.asyncio(loop_scope="session")

SERVER = Path(__file__).with_name("mcp_weather_server.py")


async def test_weather_from_an_mcp_server(
    vllm_engine: VLLMEngine, python_tool: BuiltinTool, tiny: TinyCheckpoint
) -> None:
    weather, _ = pick_tasks(tiny)
    in_process = tiny_agent(vllm_engine, python=python_tool, temperature_c=weather.temperature_c)
    server = MCPStdioServer(
        name="weather", command=sys.executable, args=[str(SERVER), str(weather.temperature_c)]
    )
    async with MCPToolset([server]) as toolset:
        agent = dataclasses.replace(in_process, tools=[toolset, python_tool])
        # The MCP tool renders the very tokens the model was trained on.
        assert agent.render_preamble() == in_process.render_preamble()
        result = await agent.arun(weather.question)

    (call,) = result.tool_calls
    assert call.call.recipient == "functions.get_weather"
    assert call.error is None
    assert call.data["mcp_server"] == "weather"
    assert f'"temperature_c":{weather.temperature_c}' in call.output
    assert result.final_text == weather.expected_answer()
