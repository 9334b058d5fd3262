"""The MCP client against real servers: `mcp-server-time` (a third-party server from the
package registry) over stdio, and the SDK's MCPServer over stdio and streamable HTTP.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tracemalloc

import pytest
from harmony_agent import Agent, ToolError, ToolErrorKind
from harmony_agent.engines import ScriptedEngine
from harmony_agent.tools._arguments import InvalidArguments
from harmony_agent.tools.mcp import (
    MCPHTTPServer,
    MCPServerUnavailable,
    MCPStdioServer,
    MCPToolset,
)
from harmony_agent.tools.mcp._results import MAX_TEXT_CHARS
from harmony_agent.tools.mcp._sdk import MAX_MESSAGE_BYTES

from .conftest import stdio_server
from .processes import alive, children

TIME_SERVER = MCPStdioServer(
    name="time", command=sys.executable, args=["-m", "mcp_server_time", "--local-timezone", "UTC"]
)


def call(recipient: str, arguments: str) -> str:
    return f"<|channel|>commentary to={recipient} <|constrain|>json<|message|>{arguments}<|call|>"


async def test_third_party_server_over_stdio_lists_and_answers() -> None:
    async with MCPToolset([TIME_SERVER]) as tools:
        functions = {f.name: f for f in tools.functions}
        assert set(functions) == {"get_current_time", "convert_time"}
        assert functions["get_current_time"].spec.parameters is not None
        output = await functions["get_current_time"].call('{"timezone": "Asia/Tokyo"}')
    assert json.loads(output.text)["timezone"] == "Asia/Tokyo"
    assert output.data["structured_content"]["timezone"] == "Asia/Tokyo"


async def test_arguments_are_validated_against_the_input_schema_before_the_call() -> None:
    async with MCPToolset([TIME_SERVER]) as tools:
        [get_time] = [f for f in tools.functions if f.name == "get_current_time"]
        with pytest.raises(InvalidArguments, match="'timezone' is a required property"):
            await get_time.call("{}")


async def test_a_tool_error_goes_to_the_model() -> None:
    async with MCPToolset([TIME_SERVER]) as tools:
        [get_time] = [f for f in tools.functions if f.name == "get_current_time"]
        with pytest.raises(ToolError, match="Invalid timezone"):
            await get_time.call('{"timezone": "Mars/Olympus"}')


async def test_allowed_blocked_and_prefix_shape_what_the_model_sees() -> None:
    allowed = TIME_SERVER.model_copy(update={"allowed_tools": ["convert_time"], "prefix": "t_"})
    blocked = TIME_SERVER.model_copy(update={"name": "time2", "blocked_tools": ["convert_time"]})
    async with MCPToolset([allowed, blocked]) as tools:
        assert [f.name for f in tools.functions] == ["t_convert_time", "get_current_time"]


async def test_a_name_clash_between_servers_asks_for_a_prefix() -> None:
    twin = TIME_SERVER.model_copy(update={"name": "time2"})
    async with MCPToolset([TIME_SERVER, twin]) as tools:
        with pytest.raises(Exception, match="give one a `prefix`"):
            _ = tools.functions


async def test_an_agent_run_calls_the_servers_tool_and_ends_its_process() -> None:
    engine = ScriptedEngine(
        [
            call("functions.get_current_time", '{"timezone": "Europe/Paris"}'),
            "<|channel|>final<|message|>It is morning in Paris.<|return|>",
        ]
    )
    async with MCPToolset([TIME_SERVER]) as tools:
        [pid] = children("mcp_server_time")
        agent = Agent(engine=engine, tools=[tools], reasoning="low")
        result = await agent.arun("What time is it in Paris?")
    assert result.ok
    [tool_call] = result.tool_calls
    assert tool_call.error is None
    assert json.loads(tool_call.output)["timezone"] == "Europe/Paris"
    assert not alive(pid)


async def test_http_server_with_headers(http_url: str) -> None:
    server = MCPHTTPServer(
        name="web", url=http_url, headers={"Authorization": "Bearer s3cr3t-v4lue"}
    )
    async with MCPToolset([server]) as tools:
        functions = {f.name: f for f in tools.functions}
        output = await functions["get_weather"].call('{"city": "Oslo"}')
        sent = await functions["header"].call('{"name": "authorization"}')
    assert json.loads(output.text) == {"city": "Oslo", "temperature_c": 21}
    assert sent.text == "Bearer s3cr3t-v4lue"


async def test_an_unreachable_http_server_is_named_and_its_headers_stay_hidden() -> None:
    server = MCPHTTPServer(
        name="gone",
        url="http://127.0.0.1:9/mcp?key=s3cr3t-v4lue",
        headers={"X-Key": "s3cr3t-v4lue"},
        connect_timeout=10,
    )
    with pytest.raises(MCPServerUnavailable, match="'gone'") as raised:
        await MCPToolset([server]).start()
    assert "s3cr3t-v4lue" not in str(raised.value)


async def test_list_changed_re_lists_the_tools(http_url: str) -> None:
    async with MCPToolset([MCPHTTPServer(name="web", url=http_url)]) as tools:
        [grow] = [f for f in tools.functions if f.name == "grow"]
        await grow.call("{}")
        async with asyncio.timeout(10):
            # the re-listing follows a notification the toolset has no event for
            while "extra" not in {f.name for f in tools.functions}:  # noqa: ASYNC110
                await asyncio.sleep(0.02)


async def test_images_are_saved_and_described(tmp_path: object) -> None:
    async with MCPToolset([stdio_server()]) as tools:
        [picture] = [f for f in tools.functions if f.name == "picture"]
        output = await picture.call("{}")
        [path] = output.files
        assert path.read_bytes().startswith(b"\x89PNG")
    assert output.text.startswith("a pixel\n[image (image/png, 70 bytes) saved as image-")


async def test_large_outputs_are_bounded() -> None:
    async with MCPToolset([stdio_server()]) as tools:
        [big] = [f for f in tools.functions if f.name == "big"]
        output = await big.call(f'{{"characters": {MAX_TEXT_CHARS * 2}}}')
    assert len(output.text) < MAX_TEXT_CHARS + 100
    assert output.text.endswith(f"[... {MAX_TEXT_CHARS} more characters cut]")


async def test_an_oversized_message_is_refused_before_it_is_buffered() -> None:
    async with MCPToolset([stdio_server()]) as tools:
        [big] = [f for f in tools.functions if f.name == "big"]
        tracemalloc.start()
        try:
            # the SDK's own stdio transport buffers such a line for minutes
            with pytest.raises(ToolError, match="restarted"):
                async with asyncio.timeout(120):
                    await big.call(f'{{"characters": {MAX_MESSAGE_BYTES * 4}}}')
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < MAX_MESSAGE_BYTES * 2


async def test_a_slow_call_times_out_and_the_server_goes_on() -> None:
    engine = ScriptedEngine(
        [
            call("functions.slow", '{"seconds": 60}'),
            call("functions.pid", "{}"),
            "<|channel|>final<|message|>Done.<|return|>",
        ]
    )
    async with MCPToolset([stdio_server(timeout=0.5)]) as tools:
        result = await Agent(engine=engine, tools=[tools]).arun("Go.")
    slow, pid = result.tool_calls
    assert slow.error is ToolErrorKind.TIMEOUT
    assert pid.error is None and int(pid.output) > 0


async def test_a_crash_restarts_the_server_once_and_tells_the_model() -> None:
    async with MCPToolset([stdio_server()]) as tools:
        functions = {f.name: f for f in tools.functions}
        first = int((await functions["pid"].call("{}")).text)
        with pytest.raises(ToolError, match="stopped during the call and was restarted"):
            await functions["crash"].call("{}")
        assert not alive(first)
        second = int((await functions["pid"].call("{}")).text)
        assert second != first
        with pytest.raises(ToolError, match="could not be kept running"):
            await functions["crash"].call("{}")
        with pytest.raises(ToolError, match="could not be kept running"):
            await functions["pid"].call("{}")
        assert not alive(second)


async def test_every_server_process_ends_when_the_toolset_closes() -> None:
    async with MCPToolset([stdio_server(), TIME_SERVER]):
        pids = children(sys.executable)
        assert len(pids) == 2
    assert not any(alive(pid) for pid in pids)


async def test_a_cancelled_run_leaves_no_server_process() -> None:
    started = asyncio.Event()
    pids: list[int] = []

    async def hold() -> None:
        async with MCPToolset([stdio_server()]) as tools:
            [slow] = [f for f in tools.functions if f.name == "slow"]
            pids.extend(children(sys.executable))
            started.set()
            await slow.call('{"seconds": 60}')

    task = asyncio.create_task(hold())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pids and not any(alive(pid) for pid in pids)


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("no-such-mcp-server", []),
        (sys.executable, ["-c", "pass"]),
        (sys.executable, ["-c", "import time; time.sleep(60)"]),
    ],
    ids=["missing", "exits", "silent"],
)
async def test_a_server_that_fails_to_start_is_named(command: str, args: list[str]) -> None:
    server = MCPStdioServer(name="broken", command=command, args=args, connect_timeout=2)
    with pytest.raises(MCPServerUnavailable, match="MCP server 'broken' is unavailable"):
        await MCPToolset([server, TIME_SERVER]).start()
    assert children(sys.executable) == []
