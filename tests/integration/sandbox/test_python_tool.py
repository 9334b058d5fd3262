"""The python tool in an agent run, its session, and kernels handed out by a pool."""

from __future__ import annotations

from pathlib import Path

import pytest
from harmony_agent import Agent, ToolError, ToolErrorKind
from harmony_agent._harmony import decode
from harmony_agent.engines import ScriptedEngine
from harmony_agent.sandbox import KernelPool, ReadOnlyMount, Sandbox
from harmony_agent.tiny._tasks import ProductPython
from harmony_agent.tools.python import PythonTool

from tests.fakes import python_call

from .kernels import FAST, KINDS, open_sandbox


async def test_agent_runs_code_in_one_kernel_per_run() -> None:
    engine = ScriptedEngine(
        [
            python_call("values = [3, 4]\nprint(sum(values))"),
            python_call("values.append(35)\nsum(values)"),
            "<|channel|>final<|message|>The sum is 42.<|return|>",
        ]
    )
    agent = Agent(
        engine=engine, tools=[PythonTool(FAST)], reasoning="low", current_date="2026-11-24"
    )

    result = await agent.arun("Add 3, 4 and 35.")

    assert result.ok
    assert [call.error for call in result.tool_calls] == [None, None]
    last_prompt = decode(engine.prompts[-1])
    assert "<|start|>python to=assistant<|channel|>analysis<|message|>7<|end|>" in last_prompt
    assert "<|start|>python to=assistant<|channel|>analysis<|message|>42<|end|>" in last_prompt
    first_prompt = decode(engine.prompts[0])
    assert "time out after 2.0 seconds. The drive at '/mnt/data'" in first_prompt
    assert "Internet access for this session is disabled." in first_prompt


async def test_the_cell_timeout_outranks_a_shorter_tool_timeout() -> None:
    engine = ScriptedEngine(
        [
            python_call("import time\ntime.sleep(30)"),
            "<|channel|>final<|message|>Too slow.<|return|>",
        ]
    )
    agent = Agent(engine=engine, tools=[PythonTool(FAST)], tool_timeout=0.5)

    result = await agent.arun("Sleep.")

    (call,) = result.tool_calls
    assert call.error is None
    assert "past the 2 s timeout and was interrupted" in call.output


async def test_session_reports_timeouts_images_and_model_errors() -> None:
    tool = PythonTool(FAST)
    session = await tool.open_session()
    try:
        output = await session.call(None, "```python\nprint('fenced')\n```")
        assert output.text == "fenced"
        output = await session.call(None, "x = 1")
        assert output.text == "[no output]"
        output = await session.call(None, "import time\ntime.sleep(30)")
        assert output.text.endswith(
            "[The execution ran past the 2 s timeout and was interrupted; variables and "
            "imports from before are kept.]"
        )
        assert "KeyboardInterrupt" in output.text
        assert output.data["timed_out"] is True
        with pytest.raises(ToolError, match="empty"):
            await session.call(None, "  \n")
        with pytest.raises(ToolError, match=r"python\.run"):
            await session.call("run", "1")
        output = await session.call(None, "import os\nos._exit(1)")
        assert output.text.startswith("[The kernel died (exited with status 1) and was restarted")
    finally:
        await session.aclose()


async def test_empty_message_reaches_the_model_as_a_tool_error() -> None:
    engine = ScriptedEngine([python_call(""), "<|channel|>final<|message|>ok<|return|>"])
    agent = Agent(engine=engine, tools=[PythonTool(FAST)], reasoning="low")
    result = await agent.arun("Run nothing.")
    assert result.tool_calls[0].error == ToolErrorKind.TOOL_ERROR
    assert "send Python code to run" in result.tool_calls[0].output


async def test_pool_hands_out_started_kernels_once() -> None:
    async with KernelPool(FAST, size=1) as pool:
        first = await pool.acquire()
        second = await pool.acquire()  # waits for the replacement to start
        try:
            assert first is not second and first.root != second.root
            assert (await first.execute("1 + 1")).result == "2"
        finally:
            await first.aclose()
            await second.aclose()
        async with Sandbox(pool=pool) as sandbox:
            assert (await sandbox.execute("'pooled'")).result == "'pooled'"
        tool = PythonTool(pool=pool)
        session = await tool.open_session()
        try:
            assert (await session.call(None, "6 * 7")).text == "42"
        finally:
            await session.aclose()


@pytest.mark.parametrize("kind", KINDS)
async def test_files_copied_in_and_read_only_mounts(tmp_path: Path, kind: str) -> None:
    data = tmp_path / "input.csv"
    data.write_text("a,b\n1,2\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "lookup.txt").write_text("42")
    config = FAST.model_copy(
        update={
            "files": (data,),
            "read_only_mounts": (
                ReadOnlyMount(source=shared, target="/data/shared"),
                # below /tmp, which each kernel gets empty (as a virtual environment may be)
                ReadOnlyMount(source=shared, target="/tmp/read only"),
            ),
        }
    )
    async with open_sandbox(kind, config) as sandbox:
        result = await sandbox.execute(
            "print(open('input.csv').read().splitlines()[1], open('/data/shared/lookup.txt').read(),"
            " open('/tmp/read only/lookup.txt').read())"
        )
        assert result.stdout == "1,2 42 42\n", result.error
        for target in ("/data/shared", "/tmp/read only"):
            denied = await sandbox.execute(f"open('{target}/new.txt', 'w')")
            assert denied.error is not None and "Read-only file system" in denied.error
        edited = await sandbox.execute("open('input.csv', 'a').write('3,4\\n')")
        assert edited.ok and data.read_text() == "a,b\n1,2\n"  # the host's copy is untouched


async def test_the_tiny_checkpoints_stand_in_answers_as_the_python_tool_does() -> None:
    tool = PythonTool(FAST)
    stand_in = ProductPython(tool.namespace)
    code = "print(57*64)"
    real_session = await tool.open_session()
    stand_in_session = await stand_in.open_session()
    try:
        real = await real_session.call(None, code)
        imitated = await stand_in_session.call(None, code)
    finally:
        await real_session.aclose()
        await stand_in_session.aclose()

    assert imitated.text == real.text == "3648"
