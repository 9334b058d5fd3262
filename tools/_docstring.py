"""Reads a Google-style docstring: the description and the `Args:` section."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

__all__ = ["Docstring", "parse_docstring"]

_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Returns|Return|Raises|Yields|Examples|Example|Notes|Note|"
    r"See Also|Attributes):\s*$"
)
_ARGUMENT_SECTIONS = frozenset({"Args", "Arguments", "Parameters"})
_ARGUMENT = re.compile(r"^(\*{0,2}\w+)\s*(?:\(.*\))?\s*:\s*(.*)$")


@dataclass(frozen=True)
class Docstring:
    """The parts of a docstring a tool description needs."""

    description: str
    arguments: dict[str, str] = field(default_factory=dict)


def parse_docstring(text: str | None) -> Docstring:
    """Splits a docstring into its description (the text before the first section) and the
    descriptions of its arguments (continuation lines are indented deeper than names).
    """
    description: list[str] = []
    arguments: dict[str, str] = {}
    section: str | None = None
    name_indent: int | None = None
    current: str | None = None
    for line in inspect.cleandoc(text or "").splitlines():
        header = _SECTION.match(line)
        if header:
            section, name_indent, current = header.group(1), None, None
        elif section is None:
            description.append(line)
        elif section in _ARGUMENT_SECTIONS and line.strip():
            indent = len(line) - len(line.lstrip())
            match = _ARGUMENT.match(line.strip())
            if match and (name_indent is None or indent <= name_indent):
                name_indent, current = indent, match.group(1).lstrip("*")
                arguments[current] = match.group(2).strip()
            elif current is not None:
                arguments[current] = f"{arguments[current]} {line.strip()}".strip()
    return Docstring("\n".join(description).strip(), arguments)
