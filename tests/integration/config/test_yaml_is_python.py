"""YAML = Python, by one naming rule: a YAML key is the name of the Python parameter it sets.

Every `Agent` parameter is a config key of the same name, or is listed below as Python-only
with the reason; every config key sets a parameter, or is listed as YAML-only. A parameter or
key added on one side only fails here. A config nests where YAML describes an object that
Python is handed built: `engine:` (the engine's settings), `tools:` (the tools' settings;
`python:` and `browser:` are the very `SandboxConfig` and `BrowserConfig`), `sampling:` (a
`SamplingParams`); and `limits:` groups the parameters that bound a run, under their names.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml
from harmony_agent import Agent, FunctionTool
from harmony_agent.config import (
    AgentConfig,
    ConfigFileError,
    FunctionConfig,
    LimitsConfig,
    SamplingConfig,
    load_config,
)
from harmony_agent.engines import SamplingParams, ScriptedEngine
from harmony_agent.tools.python import PythonTool

GROUPS = {"limits": LimitsConfig}
"""Config keys that group `Agent` parameters, each under its own name."""

PYTHON_ONLY = {
    "client_functions": "functions the caller runs: the caller is code (the server gives a "
    "request's tools), not the command line, which runs every tool it shows",
}
"""`Agent` parameters a config cannot set, with the reason."""

YAML_ONLY = {
    "instructions_file": "the instructions read from a file; Python code reads its own files",
    "output": "what the command line records and shows (trace, reasoning, redaction): the "
    "run's output, not the agent",
}
"""Config keys that set no `Agent` parameter, with the reason."""

SAMPLING_PYTHON_ONLY = {
    "json_schema": "the agent sets it to write a constrained final answer (`constrain_output` "
    "with `output_type`); on every generation it would constrain the reasoning too",
}
FUNCTION_PYTHON_ONLY = {
    "arguments_model": "`@tool` builds it from the function's signature; a config gives "
    "`parameters`, a JSON Schema",
}

NON_DEFAULT: dict[str, Any] = {
    "instructions": "Answer in French.",
    "reasoning": "high",
    "identity": "You are a careful assistant.",
    "knowledge_cutoff": "2025-01",
    "current_date": "2026-02-03",
    "output_type": {"type": "object", "properties": {"city": {"type": "string"}}},
    "constrain_output": True,
    "tool_choice": "required",
    "max_turns": 3,
    "max_tokens": 100,
    "max_run_tokens": 500,
    "timeout": 30.0,
    "tool_timeout": 5.0,
    "max_model_errors": 1,
    "max_output_retries": 0,
    "context_window": 4096,
    "reserve_tokens": 64,
    "max_tool_output_tokens": 256,
}
"""A value other than the default for every `Agent` parameter a config sets as it is."""

BUILT = {"engine", "tools", "sampling"}
"""`Agent` parameters a config describes and the loader builds (checked one by one below)."""


def agent_parameters() -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(Agent) if f.init}


def config_keys() -> dict[str, str]:
    """Each config key that may set an `Agent` parameter (grouped ones by their own name),
    and where it sits in a config file.
    """
    keys = {name: name for name in AgentConfig.model_fields if name not in GROUPS}
    for group, model in GROUPS.items():
        keys |= {name: f"{group}.{name}" for name in model.model_fields}
    return keys


def test_every_agent_parameter_is_the_config_key_of_the_same_name() -> None:
    python = set(agent_parameters()) - set(PYTHON_ONLY)
    config = set(config_keys()) - set(YAML_ONLY)
    assert python - config == set(), "Agent parameters a config cannot set"
    assert config - python == set(), "config keys that set no Agent parameter"
    assert set(NON_DEFAULT) | BUILT == python


def test_the_objects_a_config_describes_take_the_same_names() -> None:
    sampling = {f.name for f in dataclasses.fields(SamplingParams)} - set(SAMPLING_PYTHON_ONLY)
    assert set(SamplingConfig.model_fields) == sampling
    function = set(inspect.signature(FunctionTool).parameters) - set(FUNCTION_PYTHON_ONLY)
    assert set(FunctionConfig.model_fields) == function


def test_a_config_sets_every_parameter_to_what_it_says(tmp_path: Path) -> None:
    fields = agent_parameters()
    assert all(value != fields[name].default for name, value in NON_DEFAULT.items())
    data: dict[str, Any] = {
        "engine": {"kind": "scripted", "script": []},
        "tools": {"python": {"cell_timeout_s": 7}, "functions": ["harmony_agent.tiny:get_weather"]},
        "sampling": {"temperature": 0.5, "top_p": 0.9, "top_k": 40, "seed": 7},
    }
    for name, value in NON_DEFAULT.items():
        *group, key = config_keys()[name].split(".")
        section = data.setdefault(group[0], {}) if group else data
        section[key] = value
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    agent = load_config(path, {}).agent()
    assert {name: getattr(agent, name) for name in NON_DEFAULT} == NON_DEFAULT
    assert isinstance(agent.engine, ScriptedEngine)
    assert agent.sampling == SamplingParams(temperature=0.5, top_p=0.9, top_k=40, seed=7)
    [python, function] = agent.tools
    assert isinstance(python, PythonTool) and python.config.cell_timeout_s == 7
    assert isinstance(function, FunctionTool) and function.name == "get_weather"


@pytest.mark.parametrize(
    ("text", "key", "new"),
    [
        ("limits:\n  timeout_s: 60\n", "limits.timeout_s", "timeout"),
        ("limits:\n  tool_timeout_s: 60\n", "limits.tool_timeout_s", "tool_timeout"),
        ("output_schema: {type: object}\n", "output_schema", "output_type"),
        (
            "tools:\n  functions:\n    - handler: harmony_agent.tiny:get_weather\n"
            "      timeout_s: 5\n",
            "tools.functions[0].timeout_s",
            "timeout",
        ),
    ],
)
def test_a_key_named_as_before_is_an_error_naming_its_new_name(
    tmp_path: Path, text: str, key: str, new: str
) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, {})
    [problem] = caught.value.problems
    old = key.rsplit(".", 1)[-1]
    assert problem.endswith(
        f":{len(text.splitlines())}: {key}: unknown key {old!r}; did you mean {new!r}?"
    )
