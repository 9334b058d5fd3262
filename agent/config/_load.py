"""`load_config`: a YAML file to a validated `AgentConfig`, or errors that say where and why."""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pydantic
from harmony_agent._errors import ConfigError
from harmony_agent._output import OutputFormat
from harmony_agent._redact import Redactor
from harmony_agent.config._agent_config import AgentConfig
from harmony_agent.config._engines import ScriptedEngineConfig
from harmony_agent.config._error import ConfigFileError, format_problem
from harmony_agent.config._paths import resolve_paths
from harmony_agent.config._schema_walk import field_at, model_at
from harmony_agent.config._text_file import read_text_file
from harmony_agent.config._yaml import KeyPath, YamlDocument, read_yaml

__all__ = ["load_config"]


def load_config(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> AgentConfig:
    """Reads, validates and checks a YAML agent config.

    `${NAME}` is read from `environ` (default: the process environment); relative paths are
    resolved against the file's directory; function import paths are imported and instruction
    and script files read, so a config that loads will build. Raises `ConfigFileError`, whose
    `problems` each name the file, the line, the key path and the fix, with the secret values
    from the environment hidden.
    """
    file = Path(path)
    source = str(path)
    try:
        text = read_text_file(file, "the file")
    except ConfigError as error:
        raise ConfigFileError.at(source, None, (), str(error)) from None
    document = read_yaml(text, source, os.environ if environ is None else environ)
    if not isinstance(document.data, dict):
        raise ConfigFileError.at(
            source, 1, (), "the file must hold a mapping of keys (engine:, tools:, ...)"
        )
    hide = Redactor(document.secrets)
    try:
        config = AgentConfig.model_validate(document.data)
    except pydantic.ValidationError as error:
        raise ConfigFileError(
            [hide.text(_explain(e, document, source)) for e in error.errors()]
        ) from None
    base_dir = file.resolve().parent
    config = resolve_paths(config, base_dir).with_source(base_dir, document.secrets)
    problems = [
        hide.text(format_problem(source, document.line_of(key), key, str(failure)))
        for key, failure in _check(config)
    ]
    if problems:
        raise ConfigFileError(problems)
    return config


def _check(config: AgentConfig) -> list[tuple[KeyPath, ConfigError]]:
    """Builds what the config names (functions, files) and collects what fails."""
    checks: list[tuple[KeyPath, Callable[[], object]]] = [
        (
            ("tools", "functions", index, "handler"),
            functools.partial(function.build, config.base_dir),
        )
        for index, function in enumerate(config.tools.functions)
    ]
    if config.instructions_file is not None:
        checks.append((("instructions_file",), config.read_instructions))
    if config.output_type is not None:
        checks.append((("output_type",), functools.partial(_output_format, config)))
    if isinstance(config.engine, ScriptedEngineConfig):
        checks.append((("engine", "script_file"), config.engine.load_script))
    if config.tools.python is not None:
        checks += [
            (("tools", "python", "files", index), functools.partial(_exists, file))
            for index, file in enumerate(config.tools.python.files)
        ]
    failures: list[tuple[KeyPath, ConfigError]] = []
    for key, check in checks:
        try:
            check()
        except ConfigError as error:
            failures.append((key, error))
    return failures


def _output_format(config: AgentConfig) -> OutputFormat | None:
    output_type = config.resolved_output_type()
    return None if output_type is None else OutputFormat.of(output_type)


def _exists(path: Path) -> None:
    if not path.exists():
        raise ConfigError(f"{path} does not exist")


def _explain(error: Any, document: YamlDocument, source: str) -> str:
    """One pydantic error as `FILE:LINE: KEY.PATH: message`, with the fix where known."""
    key = _data_path(error["loc"], document.data)
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = model_at(AgentConfig, key[:-1], document.data)
        known = [] if parent is None else list(parent.model_fields)
        message = f"unknown key {key[-1]!r}; " + _suggestion(str(key[-1]), known)
    elif kind == "missing":
        message = "this required key is missing; add it"
    elif kind == "union_tag_invalid":
        key = (*key, "kind")
        message = f"must be one of {error['ctx']['expected_tags']}, got {error['ctx']['tag']!r}"
    elif kind == "union_tag_not_found":
        message = f"add `kind:` to say which one ({error['ctx']['discriminator']})"
    elif kind == "value_error":
        message = str(error["ctx"]["error"])
    else:
        value = error.get("input")
        secret = isinstance(value, str) and any(s in value for s in document.secrets)
        shown = "a value from the environment (not shown)" if secret else repr(value)
        message = f"{_lower_first(error['msg'])}, got {shown}"
    field = field_at(AgentConfig, key, document.data)
    if field is not None and field.description and kind != "extra_forbidden":
        message += f" ({key[-1]}: {field.description})"
    return format_problem(source, document.line_of(key), key, message)


def _data_path(location: Sequence[str | int], data: Any) -> KeyPath:
    """The error's place in the data: pydantic's union tags and validator names are left out
    (they are not in the data); a last part that is not in the data is a missing key.
    """
    path: list[str | int] = []
    current = data
    for index, part in enumerate(location):
        if _has(current, part):
            current = current[part]
        elif index == len(location) - 1 and isinstance(part, str):
            current = None
        else:
            continue
        path.append(part)
    return tuple(path)


def _has(data: Any, part: str | int) -> bool:
    if isinstance(data, dict):
        return part in data
    return isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)


def _suggestion(word: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"valid keys here: {', '.join(known)}" if known else "remove it"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
