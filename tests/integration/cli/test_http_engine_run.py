"""`run` with `kind: http` against an OpenAI-compatible completions server on loopback."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from harmony_agent.cli import ExitCode

from tests.console import SCRIPT
from tests.integration.engines.completions_server import MODEL, CompletionsServer, Failure, Stream

KEY = "sk-test-0123456789abcdef"


async def run_cli(
    config: Path, *args: str, environ: dict[str, str], options: tuple[str, ...] = ()
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        SCRIPT,
        *options,
        "run",
        str(config),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100", **environ},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_run_through_a_completions_server_with_a_key_from_the_environment(
    tmp_path: Path,
) -> None:
    reply = Stream.of(
        "<|channel|>analysis<|message|>Easy.<|end|><|start|>assistant<|channel|>final<|message|>Four.<|return|>"
    )
    async with CompletionsServer([reply], api_key=KEY, max_model_len=4096) as server:
        config = tmp_path / "remote.yaml"
        trace = tmp_path / "trace.jsonl"
        config.write_text(
            f"engine:\n  kind: http\n  base_urls: ${{SERVER_URL}}\n  model: {MODEL}\n  api_key: ${{SERVER_API_KEY}}\n"
            f"reasoning: low\noutput:\n  trace: {trace}\n",
            encoding="utf-8",
        )
        code, out, err = await run_cli(
            config, "What is 2 + 2?", environ={"SERVER_URL": server.base_url, "SERVER_API_KEY": KEY}
        )
    assert code == ExitCode.OK, err
    assert "Easy." in out and "Four." in out
    assert "final · 1 turn" in out
    [request] = server.requests
    assert request["model"] == MODEL
    assert KEY not in trace.read_text()
    assert json.loads(trace.read_text().splitlines()[-1])["final_text"] == "Four."


async def test_a_failing_server_exits_3(tmp_path: Path) -> None:
    async with CompletionsServer([Failure(400, "bad request: model not served")]) as server:
        config = tmp_path / "remote.yaml"
        config.write_text(
            f"engine:\n  kind: http\n  base_urls: {server.base_url}\n  model: {MODEL}\n  max_retries: 0\n"
        )
        code, out, err = await run_cli(config, "hi", environ={})
    assert code == ExitCode.ENGINE, out + err
    assert "engine error:" in err
    assert "Traceback" not in err


PLAIN_KEY = "Zq7Xw9vB4nM2pL8rT5yU"
"""A key no pattern recognises: only knowing it hides it."""


@pytest.mark.parametrize("debug", [False, True], ids=["message", "--debug traceback"])
async def test_a_server_echoing_secrets_does_not_leak_them_on_stderr(
    tmp_path: Path, debug: bool
) -> None:
    project_secret = "ZZ-project-secret-42"
    echo = Failure(400, f"no access for {project_secret}; you sent ", echo="Authorization")
    async with CompletionsServer([echo], api_key=PLAIN_KEY) as server:
        config = tmp_path / "remote.yaml"
        config.write_text(
            f"engine:\n  kind: http\n  base_urls: {server.base_url}\n  model: {MODEL}\n"
            "  api_key: ${SERVER_API_KEY}\n  max_retries: 0\n"
            f"output:\n  redact: [{project_secret}]\n"
        )
        options = ("--debug",) if debug else ()
        code, out, err = await run_cli(
            config, "hi", environ={"SERVER_API_KEY": PLAIN_KEY}, options=options
        )
    assert code == ExitCode.ENGINE, out + err
    assert "engine error:" in err and "[REDACTED]" in err
    assert PLAIN_KEY not in out + err and project_secret not in out + err
    assert ("Traceback" in err) is debug


async def test_markup_in_a_servers_error_is_printed_as_it_is(tmp_path: Path) -> None:
    message = "bad [/] [link=https://evil.example]click[/link] [bold]"
    async with CompletionsServer([Failure(400, message)]) as server:
        config = tmp_path / "remote.yaml"
        config.write_text(
            f"engine:\n  kind: http\n  base_urls: {server.base_url}\n  model: {MODEL}\n  max_retries: 0\n"
        )
        code, out, err = await run_cli(config, "hi", environ={})
    assert code == ExitCode.ENGINE, out + err
    assert message in err
