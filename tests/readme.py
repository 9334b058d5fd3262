"""The README's code blocks, and its Python examples run the way a reader pastes them into
`python -m asyncio`: in one namespace, top-level `await` and `async with` allowed.
"""

from __future__ import annotations

import ast
import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"

PYTHON = ("python", "py")
"""The fence languages of Python examples (GitHub highlights both)."""

_FENCE = re.compile(r"```(\S*)")


@dataclass(frozen=True)
class Block:
    """A fenced block: its language, its name (`Engines #1`: the heading of its section and its
    number among the section's blocks of the same kind), its code and the README line where the
    code starts.
    """

    language: str
    name: str
    code: str
    line: int


def blocks() -> list[Block]:
    """Every fenced block of the README, in order."""
    found: list[Block] = []
    section, counts = "", dict[tuple[str, bool], int]()
    language: str | None = None
    start, lines = 0, list[str]()
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), start=1):
        if language is None:
            if line.startswith("## "):
                section = line.removeprefix("## ")
            elif fence := _FENCE.fullmatch(line):
                language, start, lines = fence[1], number + 1, []
        elif line == "```":
            kind = (section, language in PYTHON)
            counts[kind] = counts.get(kind, 0) + 1
            name = f"{section} #{counts[kind]}"
            found.append(Block(language, name, "\n".join(lines) + "\n", start))
            language = None
        else:
            lines.append(line)
    return found


def python_blocks() -> dict[str, Block]:
    """The Python examples by name."""
    return {block.name: block for block in blocks() if block.language in PYTHON}


def compiled(block: Block) -> ast.Module:
    """The block's syntax tree; errors point at the README's lines."""
    tree = compile(
        "\n" * (block.line - 1) + block.code,
        str(README),
        "exec",
        flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
    )
    assert isinstance(tree, ast.Module)
    return tree


def run(block: Block, namespace: dict[str, object]) -> None:
    """Runs `block` in `namespace`; one with top-level `await` runs to its end in an event loop."""
    code = compile(compiled(block), str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    awaitable = eval(code, namespace)
    if awaitable is not None:
        asyncio.run(awaitable)


def after_quickstart() -> dict[str, object]:
    """The namespace the quickstart leaves (its agent, engine, tool, results): the later examples
    build on it, as the README reads.
    """
    namespace: dict[str, object] = {}
    run(python_blocks()["Python quickstart #1"], namespace)
    return namespace
