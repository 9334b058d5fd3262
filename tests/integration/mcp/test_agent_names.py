"""A tool an MCP server adds while the agent is in use (`tools/list_changed`) whose name is
taken by the developer's functions, the caller's client functions or another source's tools
is not shown: the names the developer gave keep their functions, and the warning says why.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from harmony_agent import Agent, ConfigError, tool
from harmony_agent.engines import ScriptedEngine
from harmony_agent.tools import FunctionSource, FunctionSpec
from harmony_agent.tools._function import FunctionTool
from harmony_agent.tools.mcp import MCPHTTPServer, MCPToolset

from .test_client import call

FINAL = "<|channel|>final<|message|>Done.<|return|>"


@tool
def extra() -> str:
    """The developer's own `extra`."""
    return "mine"


async def grown(tools: MCPToolset) -> None:
    """Makes the test server add its tool `extra`, and waits until the toolset shows it."""
    [grow] = [f for f in tools.functions if f.name == "grow"]
    await grow.call("{}")
    async with asyncio.timeout(10):
        # the re-listing follows a notification the toolset has no event for
        while "extra" not in {f.name for f in tools.functions}:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_a_later_mcp_tool_does_not_take_a_developer_functions_name(
    http_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = ScriptedEngine([call("functions.extra", "{}"), FINAL])
    async with MCPToolset([MCPHTTPServer(name="web", url=http_url)]) as tools:
        agent = Agent(engine=engine, tools=[extra, tools])
        await grown(tools)
        with caplog.at_level(logging.WARNING):
            result = await agent.arun("Go.")
        assert [f.name for f in agent.functions].count("extra") == 1
    assert result.ok
    [answer] = result.tool_calls
    assert answer.error is None and answer.output == "mine"
    assert "the tool 'extra' of MCPToolset(web) is not shown" in caplog.text


async def test_a_later_mcp_tool_does_not_take_a_client_functions_name(http_url: str) -> None:
    client = FunctionSpec(name="extra", description="Runs on the caller's side.")
    async with MCPToolset([MCPHTTPServer(name="web", url=http_url)]) as tools:
        agent = Agent(engine=ScriptedEngine([]), tools=[tools], client_functions=[client])
        await grown(tools)
        assert "extra" not in {f.name for f in agent.functions}
        assert [spec.name for spec in agent.function_specs].count("extra") == 1


class Fixed(FunctionSource):
    """A source whose functions never change."""

    def __init__(self, *functions: FunctionTool) -> None:
        self._functions = functions

    @property
    def functions(self) -> tuple[FunctionTool, ...]:
        """Its functions."""
        return self._functions


async def test_a_later_mcp_tool_does_not_take_an_earlier_sources_name(http_url: str) -> None:
    engine = ScriptedEngine([call("functions.extra", "{}"), FINAL])
    async with MCPToolset([MCPHTTPServer(name="web", url=http_url)]) as tools:
        agent = Agent(engine=engine, tools=[Fixed(extra), tools])
        await grown(tools)
        result = await agent.arun("Go.")
    assert [call.output for call in result.tool_calls] == ["mine"]


def test_a_name_clash_when_the_agent_is_built_is_still_an_error() -> None:
    with pytest.raises(ConfigError, match="two tools use the function name 'extra'"):
        Agent(engine=ScriptedEngine([]), tools=[extra, Fixed(extra)])
