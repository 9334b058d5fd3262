"""A streamable HTTP server's answers that are not event streams (JSON bodies) are bounded
like its events and a stdio server's lines: a body over `MAX_MESSAGE_BYTES`, decoded, ends the
connection before more of it is buffered, whether it is plain, claims a length past the bound,
never ends, or is a small gzip or deflate bomb.
"""

from __future__ import annotations

import asyncio
import logging
import tracemalloc

import pytest
from harmony_agent import ToolError
from harmony_agent.tools.mcp import MCPHTTPServer, MCPToolset
from harmony_agent.tools.mcp._sdk import MAX_MESSAGE_BYTES

from .conftest import http_server_process


@pytest.mark.parametrize("mode", ["json", "endless", "length", "gzip", "deflate"])
async def test_an_oversized_json_answer_ends_the_connection_before_it_is_buffered(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    with http_server_process(mode) as server:
        async with MCPToolset([MCPHTTPServer(name="hostile", url=server.url)]) as tools:
            [big] = [f for f in tools.functions if f.name == "big"]
            tracemalloc.start()
            try:
                with caplog.at_level(logging.WARNING), pytest.raises(ToolError, match="restarted"):
                    async with asyncio.timeout(120):
                        await big.call(f'{{"characters": {MAX_MESSAGE_BYTES * 4}}}')
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            # the server was reached again: its other tools still answer
            [pid] = [f for f in tools.functions if f.name == "pid"]
            assert int((await pid.call("{}")).text) > 0
        assert peak < MAX_MESSAGE_BYTES * 2
        assert "'hostile'" in caplog.text
        assert f"over {MAX_MESSAGE_BYTES} bytes" in caplog.text
