"""The README's Python examples (```python and ```py blocks) run as written."""

from __future__ import annotations

import ast
import dataclasses

import harmony_agent.engines
import pytest
from harmony_agent import Agent, RunResult
from harmony_agent.engines import HTTPSettings, ScriptedEngine, VLLMSettings

from tests.fakes import final
from tests.readme import PYTHON, README, after_quickstart, blocks, compiled, python_blocks, run

HOW_EACH_RUNS = {
    "Python quickstart #1": "as written",
    "Python quickstart #2": "after the quickstart, its agent playing a script of its own",
    "Engines #1": (
        "after the quickstart, ScriptedEngines standing in for VLLMEngine and HTTPEngine: the "
        "real ones need a GPU with gpt-oss-20b's weights and a `vllm serve` at gpu-1"
    ),
    "Serving over OpenAI's APIs #1": (
        "against harmony-agent serve on a scripted agent, in an integration test: "
        "tests/integration/server/test_readme_example.py"
    ),
    "Serving over OpenAI's APIs #2": (
        "against harmony-agent serve on a scripted agent, in an integration test: "
        "tests/integration/server/test_readme_example.py"
    ),
    "Python, sandboxed #1": (
        "after the quickstart, on real kernels, in an integration test: "
        "tests/integration/sandbox/test_readme_example.py"
    ),
    "One-shot programs #1": (
        "as written, on a real runner, in an integration test: "
        "tests/integration/sandbox/test_readme_example.py"
    ),
    "MCP #1": (
        "after the quickstart, its engine playing a call to the real time server, in an "
        "integration test: tests/integration/mcp/test_readme_example.py"
    ),
}
"""Every Python example of the README and how its test runs it; a new one needs a line here."""

NOT_PYTHON = ("bash", "console", "yaml", "")
"""The other fence languages; a block in any language not here or in `PYTHON` fails a test, so
no Python example (```python3, ```pycon) goes unrun for its spelling.
"""

CALL = '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>'


def test_every_python_example_is_run() -> None:
    assert sorted(python_blocks()) == sorted(HOW_EACH_RUNS)


def test_every_other_block_is_not_python() -> None:
    languages = {block.language for block in blocks()}
    assert languages <= {*PYTHON, *NOT_PYTHON}, f"{README}: a fence language not known here"


@pytest.mark.parametrize("name", sorted(HOW_EACH_RUNS))
def test_an_example_compiles_and_its_imports_resolve(name: str) -> None:
    tree = compiled(python_blocks()[name])
    imports: list[ast.stmt] = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    exec(compile(ast.Module(imports, type_ignores=[]), str(README), "exec"), {})


def test_quickstart_runs() -> None:
    follow_up = after_quickstart()["follow_up"]
    assert isinstance(follow_up, RunResult)
    assert follow_up.final_text == "No forecast tool here, sorry."


def test_streaming_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    namespace = after_quickstart()
    agent = namespace["agent"]
    assert isinstance(agent, Agent)
    namespace["agent"] = dataclasses.replace(agent, engine=ScriptedEngine([CALL, final("Sunny.")]))
    run(python_blocks()["Python quickstart #2"], namespace)
    printed = capsys.readouterr().out
    assert '[functions.get_weather] {"city": "Paris"}\nSunny.\nfinal: ' in printed


class StandIn(ScriptedEngine):
    """A ScriptedEngine where the README starts a real engine: built from that engine's
    settings (kept), used in `async with` like it.
    """

    def __init__(self, settings: VLLMSettings | HTTPSettings, script: list[str]) -> None:
        super().__init__(script)
        self.settings = settings

    async def __aenter__(self) -> StandIn:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def test_engines_example_runs_with_stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[StandIn] = []

    def standing_in(script: list[str]) -> object:
        def start(settings: VLLMSettings | HTTPSettings) -> StandIn:
            started.append(StandIn(settings, script))
            return started[-1]

        return start

    monkeypatch.setattr(harmony_agent.engines, "VLLMEngine", standing_in([final("Sunny.")]))
    monkeypatch.setattr(harmony_agent.engines, "HTTPEngine", standing_in([]))
    namespace = after_quickstart()
    run(python_blocks()["Engines #1"], namespace)
    result = namespace["result"]
    assert isinstance(result, RunResult) and result.final_text == "Sunny."
    assert [type(engine.settings) for engine in started] == [VLLMSettings, HTTPSettings]
    assert {engine.settings.model for engine in started} == {"openai/gpt-oss-20b"}
