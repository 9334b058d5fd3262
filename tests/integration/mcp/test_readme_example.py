"""The README's MCP example runs as written, against the real time server."""

from __future__ import annotations

import json

from harmony_agent import RunResult
from harmony_agent.engines import ScriptedEngine

from tests.fakes import final
from tests.readme import after_quickstart, python_blocks, run

CALL = (
    "<|channel|>commentary to=functions.get_current_time <|constrain|>json<|message|>"
    '{"timezone": "Asia/Tokyo"}<|call|>'
)


def test_the_mcp_example_runs() -> None:
    namespace = after_quickstart()
    namespace["engine"] = ScriptedEngine([CALL, final("It is evening in Tokyo.")])
    run(python_blocks()["MCP #1"], namespace)
    result = namespace["result"]
    assert isinstance(result, RunResult) and result.ok
    assert json.loads(result.tool_calls[0].output)["timezone"] == "Asia/Tokyo"
