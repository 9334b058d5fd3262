"""An MCP server reached over streamable HTTP that is killed while an agent uses it: the model
is told and the run goes on; a new session is started once (with the server that listens there
then, which does not know the old session: it answers 404), and after a second loss the
server's tools say it is down, as for a stdio server.
"""

from __future__ import annotations

from harmony_agent import Agent, Event, ToolCallStarted, ToolErrorKind
from harmony_agent.engines import ScriptedEngine
from harmony_agent.tools.mcp import MCPHTTPServer, MCPToolset

from .conftest import http_server_process
from .test_client import call


async def test_a_killed_http_server_is_reconnected_once_then_down() -> None:
    engine = ScriptedEngine(
        [
            call("functions.pid", "{}"),
            call("functions.slow", '{"seconds": 60}'),
            call("functions.pid", "{}"),
            call("functions.slow", '{"seconds": 60}'),
            call("functions.pid", "{}"),
            "<|channel|>final<|message|>The server went away.<|return|>",
        ]
    )
    with http_server_process("sse", respawns=1) as server:

        def kill_during_slow(event: Event) -> None:
            if isinstance(event, ToolCallStarted) and event.call.recipient == "functions.slow":
                server.kill()

        async with MCPToolset([MCPHTTPServer(name="web", url=server.url, timeout=30)]) as tools:
            agent = Agent(engine=engine, tools=[tools])
            result = await agent.arun("Go.", on_event=kill_during_slow)
    assert result.ok and result.final_text == "The server went away."
    first, lost, second, lost_again, after = result.tool_calls
    assert first.error is None and second.error is None
    assert int(first.output) != int(second.output)
    assert lost.error is ToolErrorKind.TOOL_ERROR
    assert "'web' stopped during the call and was restarted" in lost.output
    for down in (lost_again, after):
        assert down.error is ToolErrorKind.TOOL_ERROR
        assert "'web' stopped and could not be kept running" in down.output
