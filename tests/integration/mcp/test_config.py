"""MCP servers in YAML (`tools: mcp:`): `open()` connects them before the engine and closes
them with it; `validate` connects to each and lists its tools; header values are secrets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from harmony_agent import ConfigError
from harmony_agent.cli import ExitCode
from harmony_agent.config import load_config

from tests.console import run_cli

from .processes import alive, children

CONFIG = """\
engine:
  kind: scripted
  script:
    - "<|channel|>commentary to=functions.time_get_current_time <|constrain|>json<|message|>{{\\"timezone\\": \\"UTC\\"}}<|call|>"
    - "<|channel|>final<|message|>Noon.<|return|>"
tools:
  mcp:
    - name: time
      command: {python}
      args: [-m, mcp_server_time]
      prefix: time_
      allowed_tools: [get_current_time]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_open_connects_the_servers_and_closes_them(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONFIG.format(python=sys.executable)), {})
    async with config.open() as agent:
        [pid] = children("mcp_server_time")
        assert [f.name for f in agent.functions] == ["time_get_current_time"]
        result = await agent.arun("What time is it?")
    assert result.ok
    assert json.loads(result.tool_calls[0].output)["timezone"] == "UTC"
    assert not alive(pid)


def test_agent_without_open_says_the_servers_need_connecting(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONFIG.format(python=sys.executable)), {})
    with pytest.raises(ConfigError, match=r"tools.mcp needs its servers connected"):
        config.agent()


def test_header_values_are_secrets(tmp_path: Path) -> None:
    text = (
        "engine: {kind: scripted, script: []}\n"
        "tools:\n  mcp:\n    - name: web\n      url: http://127.0.0.1:9/mcp\n"
        '      headers: {Authorization: "Bearer ${ACCESS}"}\n'
    )
    config = load_config(write(tmp_path, text), {"ACCESS": "tok-1234567"})
    assert "Bearer tok-1234567" in config.secrets


def test_two_servers_with_one_name_are_refused(tmp_path: Path) -> None:
    text = "tools:\n  mcp:\n    - {name: a, command: x}\n    - {name: a, url: 'http://h/mcp'}\n"
    with pytest.raises(Exception, match="two MCP servers are named 'a'"):
        load_config(write(tmp_path, text), {})


def test_validate_lists_each_servers_tools_and_names_the_one_that_fails(tmp_path: Path) -> None:
    text = CONFIG.format(python=sys.executable) + (
        "    - name: web\n      url: http://127.0.0.1:9/mcp\n      connect_timeout: 5\n"
        '      headers: {Authorization: "Bearer s3cr3t-t0ken"}\n'
    )
    done = run_cli("validate", write(tmp_path, text))
    assert done.returncode == ExitCode.USAGE
    assert "mcp time: time_get_current_time" in done.stdout
    assert "error: the MCP server 'web' is unavailable: ConnectError" in done.stderr
    assert "s3cr3t-t0ken" not in done.stdout + done.stderr


def test_run_with_a_server_that_cannot_start_exits_as_a_tool_that_could_not(
    tmp_path: Path,
) -> None:
    text = (
        "engine: {kind: scripted, script: []}\n"
        "tools:\n  mcp:\n    - {name: broken, command: no-such-mcp-server}\n"
    )
    done = run_cli("run", write(tmp_path, text), "Hello?")
    assert done.returncode == ExitCode.TOOL, done.stderr
    assert "tool unavailable: the MCP server 'broken' is unavailable" in done.stderr
