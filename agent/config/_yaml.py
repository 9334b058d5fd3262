"""Reads a YAML config file into plain data, remembering where each key was written.

`${NAME}` in a string is replaced by the environment variable NAME (`${NAME:-default}` gives a
default). Values of variables whose names say they are secret (KEY, TOKEN, SECRET, PASSWORD,
CREDENTIAL, AUTH) are kept so that traces and error messages can hide them.

A config file is untrusted input, so what it can make the reader do is bounded: nesting (in the
text and through aliases) goes at most `MAX_DEPTH` levels deep, aliases may repeat at most
`MAX_REPEATED_VALUES` values in all (a few hundred bytes of nested aliases, a "billion laughs",
otherwise stand for billions of values), and an alias inside its own anchor is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import yaml
from harmony_agent.config._error import ConfigFileError

__all__ = ["MAX_DEPTH", "MAX_REPEATED_VALUES", "KeyPath", "YamlDocument", "read_yaml"]

MAX_DEPTH = 100
"""How deep values may nest, in the text or through aliases."""
MAX_REPEATED_VALUES = 10_000
"""How many values aliases may repeat in all, counting every value inside an aliased one."""

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


def read_yaml(text: str, source: str, environ: Mapping[str, str] | None) -> YamlDocument:
    """Parses `text` (the file `source`), `${NAME}` read from `environ` (None: strings stay as
    written); raises `ConfigFileError` on bad YAML, a missing environment variable, or a
    document beyond the bounds (depth, repeated values, recursion).
    """
    loader = _DepthBoundedLoader(text)
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


class _DepthBoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing to compose nodes nested deeper than `MAX_DEPTH` (its
    composer recurses once per level, and its scanner slows down with the square of the depth).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self._depth >= MAX_DEPTH:
            problem = f"nested deeper than {MAX_DEPTH} levels"
            raise yaml.composer.ComposerError(None, None, problem, self.get_mark())
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Builder:
    """Turns the composed nodes into plain data. Aliases are the same node object met again:
    meeting one of the nodes being built means a recursive anchor, and every node met again
    counts against `MAX_REPEATED_VALUES`.
    """

    def __init__(
        self, source: str, environ: Mapping[str, str] | None, loader: yaml.SafeLoader
    ) -> None:
        self.source = source
        self.environ = environ
        self.loader = loader
        self.lines: dict[KeyPath, int] = {}
        self.secrets: list[str] = []
        self._met: set[int] = set()
        self._open: set[int] = set()
        self._repeated = 0

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        self._meet(node, path)
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            self._open.add(id(node))
            try:
                if isinstance(node, yaml.MappingNode):
                    return self._mapping(node, path)
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            finally:
                self._open.discard(id(node))
        value = self._scalar(node, path)
        if self.environ is not None and isinstance(value, str) and "${" in value:
            return self._interpolate(value, self.environ, path, node.start_mark.line + 1)
        return value

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        """The value a scalar node stands for; a config error where its tag or text cannot
        make one (an unknown tag, a 31st of February, an integer of more than 4300 digits).
        """
        try:
            return self.loader.construct_object(node)
        except yaml.MarkedYAMLError as error:
            problem = str(error.problem or error.context)
        except (ValueError, OverflowError) as error:
            problem = str(error)
        raise ConfigFileError.at(
            self.source, node.start_mark.line + 1, path, f"invalid YAML value: {problem}"
        )

    def _meet(self, node: yaml.Node, path: KeyPath) -> None:
        """Checks the bounds before `node` is built at `path`."""
        if id(node) in self._open:
            self._fail(path, "this alias is inside its own anchor: the value contains itself")
        if len(path) > MAX_DEPTH:
            self._fail(path, f"nested deeper than {MAX_DEPTH} levels (through aliases)")
        if id(node) in self._met:
            self._repeated += 1
            if self._repeated > MAX_REPEATED_VALUES:
                self._fail(
                    path,
                    f"the aliases repeat more than {MAX_REPEATED_VALUES} values; write the "
                    "values out instead of nesting aliases",
                )
        else:
            self._met.add(id(node))

    def _fail(self, path: KeyPath, problem: str) -> NoReturn:
        line = YamlDocument(None, self.lines).line_of(path)
        raise ConfigFileError.at(self.source, line, path, problem)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                shown = f"key {key!r}" if key is not None else "a key that is a list or mapping"
                raise ConfigFileError.at(self.source, line, path, f"{shown} must be a string")
            if key in result:
                raise ConfigFileError.at(
                    self.source, line, (*path, key), "this key is given twice; keep one"
                )
            self.lines[(*path, key)] = line
            result[key] = self.build(value_node, (*path, key))
        return result

    def _interpolate(self, text: str, environ: Mapping[str, str], path: KeyPath, line: int) -> str:
        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = environ.get(name)
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
