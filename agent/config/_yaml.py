"""Reads a YAML config file into plain data, remembering where each key was written.

`${NAME}` in a string is replaced by the environment variable NAME (`${NAME:-default}` gives a
default). Values of variables whose names say they are secret (KEY, TOKEN, SECRET, PASSWORD,
CREDENTIAL, AUTH) are kept so that traces and error messages can hide them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from harmony_agent.config._error import ConfigFileError

__all__ = ["KeyPath", "YamlDocument", "read_yaml"]

KeyPath = tuple[str | int, ...]
"""Where a value sits in the document: mapping keys and list indexes."""

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.IGNORECASE)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class YamlDocument:
    """The data of a YAML file, the line of each key path, and the secret values substituted
    in from the environment.
    """

    data: Any
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    def line_of(self, path: KeyPath) -> int | None:
        """The line (1-based) of `path`, or of its nearest ancestor written in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def read_yaml(text: str, source: str, environ: Mapping[str, str]) -> YamlDocument:
    """Parses `text` (the file `source`); raises `ConfigFileError` on bad YAML or a missing
    environment variable.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = None if mark is None else mark.line + 1
        problem = f"invalid YAML: {error.problem or error.context}"
        if line is not None and "${" in "".join(text.splitlines()[max(0, line - 2) : line]):
            problem += " (inside [ ] or { }, put values with ${...} in quotes)"
        raise ConfigFileError.at(source, line, (), problem) from None
    finally:
        loader.dispose()
    builder = _Builder(source, environ, loader)
    data = {} if root is None else builder.build(root, ())
    return YamlDocument(data, builder.lines, tuple(builder.secrets))


class _Builder:
    def __init__(self, source: str, environ: Mapping[str, str], loader: yaml.SafeLoader) -> None:
        self.source = source
        self.environ = environ
        self.loader = loader
        self.lines: dict[KeyPath, int] = {}
        self.secrets: list[str] = []

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        value = self.loader.construct_object(node)
        if isinstance(value, str) and "${" in value:
            return self._interpolate(value, path, node.start_mark.line + 1)
        return value

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise ConfigFileError.at(self.source, line, path, f"key {key!r} must be a string")
            if key in result:
                raise ConfigFileError.at(
                    self.source, line, (*path, key), "this key is given twice; keep one"
                )
            self.lines[(*path, key)] = line
            result[key] = self.build(value_node, (*path, key))
        return result

    def _interpolate(self, text: str, path: KeyPath, line: int) -> str:
        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = self.environ.get(name)
            if value is None:
                if default is None:
                    raise ConfigFileError.at(
                        self.source,
                        line,
                        path,
                        f"the environment variable {name} is not set; export it, or write "
                        f"${{{name}:-default}} to give a default",
                    )
                return default
            if value and _SECRET_NAME.search(name):
                self.secrets.append(value)
            return value

        return _VARIABLE.sub(substitute, text)
