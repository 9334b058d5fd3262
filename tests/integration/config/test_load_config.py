"""Config files on disk: examples, relative paths, secrets, and errors that say where and why."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest
from harmony_agent import Agent
from harmony_agent.config import (
    AgentConfig,
    ConfigFileError,
    HTTPEngineConfig,
    ScriptedEngineConfig,
    load_config,
)
from harmony_agent.config._text_file import MAX_TEXT_FILE_BYTES
from harmony_agent.engines import ScriptedEngine
from harmony_agent.tools.mcp import MCPToolset

CONFIGS = Path(__file__).parents[3] / "configs"
FINAL = "<|channel|>final<|message|>Done.<|return|>"


def write(directory: Path, text: str, name: str = "agent.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, environ or {})
    return list(caught.value.problems)


@pytest.fixture
def example_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """PATH as a user of the examples has it: with this environment's scripts (the MCP
    servers the dev extra installs) on it.
    """
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.usefixtures("example_path")
@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
async def test_every_example_config_loads_and_builds_an_agent(path: Path) -> None:
    config = load_config(path, environ={})
    async with contextlib.AsyncExitStack() as stack:
        mcp = None
        if config.tools.mcp:
            mcp = await stack.enter_async_context(MCPToolset(config.tools.mcp))
        agent = config.agent(engine=ScriptedEngine([]), mcp=mcp)
        assert isinstance(agent, Agent)
        assert agent.render_preamble()


@pytest.mark.usefixtures("example_path")
async def test_mcp_example_calls_the_time_server() -> None:
    async with load_config(CONFIGS / "mcp-time.yaml", environ={}).open() as agent:
        assert {f.name for f in agent.functions} == {"time_get_current_time", "time_convert_time"}
        result = await agent.arun("What time is it in Tokyo?")
    assert result.ok
    [call] = result.tool_calls
    assert call.error is None
    assert json.loads(call.output)["timezone"] == "Asia/Tokyo"


def test_function_calling_example_functions_run() -> None:
    config = load_config(CONFIGS / "function-calling.yaml", environ={})
    engine = ScriptedEngine(
        [
            "<|channel|>commentary to=functions.convert_temperature <|constrain|>json"
            '<|message|>{"value": 212, "to": "celsius"}<|call|>',
            "<|channel|>final<|message|>100 C.<|return|>",
        ]
    )
    result = config.agent(engine).run("212 F in C?")
    assert [call.output for call in result.tool_calls] == ["100.0"]
    assert [f.name for f in config.agent(engine).functions] == [
        "get_weather",
        "convert_temperature",
    ]


def test_scripted_config_runs_through_open(tmp_path: Path) -> None:
    path = write(tmp_path, f"engine:\n  kind: scripted\n  script: ['{FINAL}']\nreasoning: low\n")

    async def main() -> str:
        async with load_config(path, {}).open() as agent:
            return (await agent.arun("hi")).final_text

    import asyncio

    assert asyncio.run(main()) == "Done."


def test_relative_paths_resolve_against_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "script.yaml").write_text(f"- '{FINAL}'\n", encoding="utf-8")
    (tmp_path / "sub" / "instructions.txt").write_text("Be brief.", encoding="utf-8")
    write(
        tmp_path / "sub",
        """\
        engine: {kind: scripted, script_file: script.yaml}
        instructions_file: instructions.txt
        output: {trace: traces/run.jsonl}
        """,
    )
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("sub/agent.yaml"), {})
    assert isinstance(config.engine, ScriptedEngineConfig)
    assert config.engine.script_file == tmp_path / "sub" / "script.yaml"
    assert config.output.trace == tmp_path / "sub" / "traces" / "run.jsonl"
    agent = config.agent()
    assert agent.instructions == "Be brief."
    assert agent.run("hi").final_text == "Done."


def test_secret_environment_values_are_secrets(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        engine:
          kind: http
          base_urls: ${URL}
          model: m
          api_key: ${KEY}
        output: {redact: [internal-project-name]}
        """,
    )
    config = load_config(path, {"URL": "http://10.0.0.5:8000/v1", "KEY": "key-123456"})
    assert isinstance(config.engine, HTTPEngineConfig)
    assert [str(url) for url in config.engine.base_urls] == ["http://10.0.0.5:8000/v1"]
    assert set(config.secrets) == {"key-123456", "internal-project-name"}
    assert "key-123456" not in repr(config)


def test_errors_name_file_line_key_and_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        engine:
          kind: scripted
          script: []
        reasoning: extreme
        limits:
          timeout: ten
          max_turnz: 3
        tools:
          browser:
            fetch: {max_bytes: -5}
        """,
    )
    found = problems(path)
    assert found[0].startswith(
        f"{path}:4: reasoning: input should be 'low', 'medium' or 'high', got 'extreme'"
    )
    assert found[1].startswith(f"{path}:6: limits.timeout: input should be a valid number")
    assert "got 'ten'" in found[1]
    assert (
        found[2]
        == f"{path}:7: limits.max_turnz: unknown key 'max_turnz'; did you mean 'max_turns'?"
    )
    assert found[3].startswith(
        f"{path}:10: tools.browser.fetch.max_bytes: input should be greater than 0, got -5"
    )
    assert len(found) == 4


def test_unknown_engine_kind_and_missing_fields(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "engine:\n  kind: vlm\n")) == [
        f"{tmp_path / 'agent.yaml'}:2: engine.kind: must be one of 'default', 'vllm', 'http', "
        "'scripted', got 'vlm'"
    ]
    found = problems(write(tmp_path, "engine:\n  kind: http\n  model: m\n"))
    assert found[0].startswith(
        f"{tmp_path / 'agent.yaml'}:1: engine.base_urls: this required key is missing; add it"
    )


def test_unknown_top_level_key_lists_valid_keys(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "zzz: 1\n"))
    assert found[0].startswith(
        f"{tmp_path / 'agent.yaml'}:1: zzz: unknown key 'zzz'; valid keys here: engine, reasoning,"
    )


def test_missing_environment_variable(tmp_path: Path) -> None:
    found = problems(
        write(tmp_path, "engine:\n  kind: http\n  model: m\n  base_urls: ${VLLM_URL}\n")
    )
    assert found == [
        f"{tmp_path / 'agent.yaml'}:4: engine.base_urls: the environment variable VLLM_URL is "
        "not set; export it, or write ${VLLM_URL:-default} to give a default"
    ]


def test_function_import_errors(tmp_path: Path) -> None:
    (tmp_path / "my_functions.py").write_text("VALUE = 3\n", encoding="utf-8")
    path = write(
        tmp_path,
        """\
        tools:
          functions:
            - no_such_package.tools:lookup
            - my_functions:missing
            - my_functions:VALUE
            - handler: my_functions:VALUE
              parameters: {type: object}
            - not-an-import-path
        """,
    )
    found = problems(path)
    assert found[0] == (
        f"{path}:8: tools.functions[4].handler: string should match pattern "
        "'^[A-Za-z_][\\w.]*:[A-Za-z_][\\w.]*$', got 'not-an-import-path' (handler: Import path "
        "`package.module:callable`; modules next to the config file are found too.)"
    )
    path.write_text(path.read_text().replace("    - not-an-import-path\n", ""), encoding="utf-8")
    assert problems(path) == [
        f"{path}:3: tools.functions[0].handler: cannot import 'no_such_package.tools': no module "
        "named 'no_such_package' (check the spelling, install the package, or put the module "
        "next to the config file)",
        f"{path}:4: tools.functions[1].handler: module 'my_functions' has no attribute 'missing'",
        f"{path}:5: tools.functions[2].handler: my_functions:VALUE is not callable (type int)",
        f"{path}:6: tools.functions[3].handler: my_functions:VALUE is not callable (type int)",
    ]


def test_inline_schema_function_and_invalid_schema(tmp_path: Path) -> None:
    (tmp_path / "fns.py").write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    base = """\
    tools:
      functions:
        - handler: fns:add
          description: Adds two numbers.
          parameters: {schema}
    """
    good = "{type: object, properties: {a: {type: number}, b: {type: number}}, required: [a, b]}"
    config = load_config(write(tmp_path, base.replace("{schema}", good)), {})
    [function] = config.functions()
    assert function.name == "add"
    assert function.spec.description == "Adds two numbers."
    found = problems(write(tmp_path, base.replace("{schema}", "{type: array}")))
    assert found == [
        f"{tmp_path / 'agent.yaml'}:3: tools.functions[0].handler: function 'add': parameters "
        "must be a schema of type 'object'"
    ]


def test_output_type_inline_or_by_import_path(tmp_path: Path) -> None:
    (tmp_path / "answer_models.py").write_text(
        "import pydantic\n\n"
        "class Weather(pydantic.BaseModel):\n    city: str\n    celsius: float\n\n"
        "SCHEMA = {'type': 'object', 'properties': {'ok': {'type': 'boolean'}}}\n"
        "NUMBER = 3\n",
        encoding="utf-8",
    )
    answer = '<|channel|>final<|message|>{"city": "Paris", "celsius": 21}<|return|>'
    config = load_config(write(tmp_path, "output_type: answer_models:Weather\n"), {})
    result = config.agent(ScriptedEngine([answer])).run("Weather in Paris?")
    assert type(result.output).__name__ == "Weather"
    assert result.output.celsius == 21

    inline = "output_type: {type: object, required: [city]}\n"
    config = load_config(write(tmp_path, inline), {})
    assert config.agent(ScriptedEngine([answer])).run("Weather?").output["city"] == "Paris"
    assert load_config(write(tmp_path, "output_type: answer_models:SCHEMA\n"), {})

    path = tmp_path / "agent.yaml"
    assert problems(write(tmp_path, "output_type: answer_models:NUMBER\n")) == [
        f"{path}:1: output_type: answer_models:NUMBER is neither a pydantic model nor a JSON "
        "Schema dict (type int)"
    ]
    assert problems(write(tmp_path, "output_type: {type: 12}\n")) == [
        f"{path}:1: output_type: invalid JSON Schema: 12 is not valid under any "
        "of the given schemas"
    ]


def test_constrain_output_needs_a_schema_and_an_engine_that_can_constrain(tmp_path: Path) -> None:
    answer = '<|channel|>final<|message|>{"ok": true}<|return|>'
    text = "constrain_output: true\noutput_type: {type: object}\n"
    config = load_config(write(tmp_path, text), {})
    engine = ScriptedEngine(["<|channel|>final<|message|>", answer.split("<|message|>")[1]])
    assert config.agent(engine).run("Ok?").output == {"ok": True}
    assert engine.samplings[1].json_schema == {"type": "object"}

    path = tmp_path / "agent.yaml"
    assert problems(write(tmp_path, "constrain_output: true\n")) == [
        f"{path}:1: constrain_output needs an output_type to constrain the answer to"
    ]
    vllm = "engine: {kind: vllm, model: m}\n" + text
    assert problems(write(tmp_path, vllm)) == [
        f"{path}:1: constrain_output needs `structured_outputs: true` in the vllm engine"
    ]
    assert load_config(write(tmp_path, vllm.replace("m}", "m, structured_outputs: true}")), {})


def test_instructions_twice_and_missing_file(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "instructions: a\ninstructions_file: b.txt\n"))
    assert found == [
        f"{tmp_path / 'agent.yaml'}:1: give `instructions` or `instructions_file`, not both"
    ]
    found = problems(write(tmp_path, "instructions_file: b.txt\n"))
    assert found == [
        f"{tmp_path / 'agent.yaml'}:1: instructions_file: cannot read {tmp_path / 'b.txt'}: No such file or directory"
    ]


def test_files_a_config_names_are_read_within_bounds(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # opening it to read would wait for a writer forever
    (tmp_path / "huge.txt").write_bytes(b"x" * (MAX_TEXT_FILE_BYTES + 1))
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9")
    reasons = {
        "/dev/zero": "it is not a regular file",
        str(tmp_path / "fifo"): "it is not a regular file",
        str(tmp_path): "it is not a regular file",
        str(tmp_path / "huge.txt"): f"it is larger than {MAX_TEXT_FILE_BYTES >> 20} MiB",
        str(tmp_path / "latin.txt"): "not UTF-8 text (unexpected end of data)",
    }
    for file, reason in reasons.items():
        assert problems(write(tmp_path, f"instructions_file: {file}\n")) == [
            f"{tmp_path / 'agent.yaml'}:1: instructions_file: cannot read {file}: {reason}"
        ]
    script = write(tmp_path, "engine: {kind: scripted, script_file: /dev/zero}\n")
    assert problems(script) == [
        f"{script}:1: engine.script_file: cannot read /dev/zero: it is not a regular file"
    ]
    assert problems(tmp_path / "fifo") == [
        f"{tmp_path / 'fifo'}: cannot read the file: it is not a regular file"
    ]


def test_not_a_mapping_and_unreadable_file(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "- a\n- b\n")) == [
        f"{tmp_path / 'agent.yaml'}:1: the file must hold a mapping of keys (engine:, tools:, ...)"
    ]
    assert problems(tmp_path / "nope.yaml") == [
        f"{tmp_path / 'nope.yaml'}: cannot read the file: No such file or directory"
    ]


def test_json_schema_for_editors() -> None:
    schema = AgentConfig.model_json_schema()
    assert set(schema["properties"]) >= {"engine", "tools", "limits", "output", "reasoning"}
    kinds = schema["properties"]["engine"]["discriminator"]["mapping"]
    assert set(kinds) == {"default", "vllm", "http", "scripted"}


def test_errors_do_not_echo_values_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "limits:\n  max_turns: ${TURNS_TOKEN}\n")
    assert problems(path, {"TURNS_TOKEN": "secret-ish"}) == [
        f"{path}:2: limits.max_turns: input should be a valid integer, unable to parse string as an "
        "integer, got a value from the environment (not shown) (max_turns: Generations (model calls) per run.)"
    ]
    assert load_config(path, {"TURNS_TOKEN": "7"}).limits.max_turns == 7


def test_python_sandbox_settings(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a\n1\n", encoding="utf-8")
    path = write(tmp_path, "tools:\n  python:\n    cell_timeout_s: 30\n    files: [data.csv]\n")
    config = load_config(path, {})
    assert config.tools.python is not None
    assert config.tools.python.files == (tmp_path / "data.csv",)
    [python] = config.agent(ScriptedEngine([])).builtins
    assert python.namespace.name == "python"
    assert "30" in (python.namespace.description or "")
    path = write(
        tmp_path, "tools:\n  python:\n    cell_timeout_s: ten\n    files: [data.csv, missing.csv]\n"
    )
    found = problems(path)
    assert found[0].startswith(
        f"{path}:3: tools.python.cell_timeout_s: input should be a valid number, unable to parse string as a number, got 'ten'"
    )
    path = write(tmp_path, "tools:\n  python:\n    files: [data.csv, missing.csv]\n")
    assert problems(path) == [
        f"{path}:3: tools.python.files[1]: {tmp_path / 'missing.csv'} does not exist"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "instructions_file: /nowhere/${DOC_TOKEN}.md\n",
        "engine:\n  kind: scripted\n  script_file: /nowhere/${DOC_TOKEN}.yaml\n",
        "tools:\n  functions:\n    - handler: m_${DOC_TOKEN}:f\n",
    ],
    ids=["instructions file", "script file", "function import path"],
)
def test_errors_hide_secret_environment_values_wherever_they_were_used(
    tmp_path: Path, text: str
) -> None:
    path = write(tmp_path, text)
    found = problems(path, {"DOC_TOKEN": "tok98765private"})
    assert found and "tok98765private" not in "\n".join(found)
    assert "[REDACTED]" in "\n".join(found)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("script.json", "{", "not valid JSON"),
        ("script.json", "[" * 100_000 + "]" * 100_000, "not valid JSON"),
        ("script.yaml", "a: [1\n", "invalid YAML"),
        ("script.yaml", "[" * 3000 + "]" * 3000, "nested deeper than 100 levels"),
        ("script.yaml", "a: &a [*a]\n", "inside its own anchor"),
    ],
    ids=["broken JSON", "deep JSON", "broken YAML", "deep YAML", "recursive YAML"],
)
def test_a_malformed_script_file_is_a_config_error(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    path = write(tmp_path, f"engine:\n  kind: scripted\n  script_file: {name}\n")
    [found] = problems(path)
    assert found.startswith(f"{path}:3: engine.script_file: ")
    assert problem in found


def test_a_script_file_is_not_interpolated(tmp_path: Path) -> None:
    (tmp_path / "script.yaml").write_text("- 'costs ${PRICE}'\n", encoding="utf-8")
    path = write(tmp_path, "engine:\n  kind: scripted\n  script_file: script.yaml\n")
    engine = load_config(path, {}).engine
    assert isinstance(engine, ScriptedEngineConfig)
    assert engine.load_script() == ["costs ${PRICE}"]
