"""Batch tasks: one JSON object per line of a JSONL file, each read on its own."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["BadLine", "Check", "Task", "read_lines", "read_tasks", "validated"]


class Check(BaseModel):
    """How a task's outcome is judged; every check given must pass.

    `answer`: the final answer must equal it (surrounding whitespace ignored). `regex`: the
    final answer must contain a match. `python`: test code that passes when it raises nothing
    (use `assert`). It runs after the agent finishes, in a fresh sandbox with the task's
    settings, never in the model's kernel (the model's code could rig that): the model's
    variables are not there. It reads a copy of the files the run left in its working
    directory (directories and regular files; links, fifos and the like are left out, and a
    directory past the copy's bounds fails the check) and `final_answer`, the final answer
    as a string. The working directory is not on `sys.path`, so a file the model left is
    never imported by accident; a check that means to import the model's code runs
    `sys.path.insert(0, ".")` first, knowing it runs that code.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer: str | None = Field(default=None, description="The exact expected final answer.")
    regex: str | None = Field(default=None, description="A pattern the final answer contains.")
    python: str | None = Field(
        default=None,
        description="Test code run after the run in a fresh sandbox holding a copy of the "
        "files the run left and `final_answer`; it passes when it raises nothing.",
    )

    @field_validator("regex")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"invalid regular expression: {error}") from None
        return pattern

    @model_validator(mode="after")
    def _something(self) -> Check:
        if self.answer is None and self.regex is None and self.python is None:
            raise ValueError("a check needs `answer`, `regex` or `python`")
        return self


class Task(BaseModel):
    """One task: its `id` (unique in the file), the prompt, files copied into its sandbox's
    working directory (relative to the tasks file), and an optional check.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="Unique in the file; results are keyed by it.")
    prompt: str = Field(min_length=1)
    files: tuple[Path, ...] = ()
    check: Check | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _number_is_an_id(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


@dataclass(frozen=True)
class BadLine:
    """A line of the tasks file that is not a valid task (1-based `line`)."""

    line: int
    message: str


def read_tasks(path: Path) -> tuple[list[Task], list[BadLine]]:
    """The valid tasks of a JSONL file and its bad lines; blank lines are skipped.

    Raises OSError when the file cannot be read.
    """
    base = path.resolve().parent
    return read_lines(path, lambda data: _task(data, base))


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


_Item = TypeVar("_Item", bound=_Identified)
_Model = TypeVar("_Model", bound=BaseModel)


def read_lines(path: Path, parse: Callable[[object], _Item]) -> tuple[list[_Item], list[BadLine]]:
    """What `parse` makes of each line's JSON value in the JSONL file `path`, and the bad
    lines (invalid JSON, a `ValueError` from `parse`, an id used before); blank lines are
    skipped. Raises OSError when the file cannot be read.
    """
    items: list[_Item] = []
    bad: list[BadLine] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line.strip())
            except json.JSONDecodeError as error:
                message = f"not valid JSON ({error.msg} at column {error.colno})"
                bad.append(BadLine(number, message))
                continue
            try:
                item = parse(data)
            except ValueError as error:
                bad.append(BadLine(number, str(error)))
                continue
            if item.id in seen:
                bad.append(
                    BadLine(number, f"id {item.id!r} is already used on line {seen[item.id]}")
                )
                continue
            seen[item.id] = number
            items.append(item)
    return items, bad


def validated(model: type[_Model], data: object) -> _Model:
    """`data` as a `model`; raises ValueError naming the first invalid field."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "task"
        raise ValueError(f"{where}: {first['msg']}") from None


def _task(data: object, base: Path) -> Task:
    task = validated(Task, data)
    files = tuple(file if file.is_absolute() else base / file for file in task.files)
    for file in files:
        if not file.exists():
            raise ValueError(f"files: {file} does not exist")
    return task.model_copy(update={"files": files})
