"""Batch tasks: one JSON object per line of a JSONL file, each read on its own."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["BadLine", "Check", "Task", "read_tasks"]


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
    tasks: list[Task] = []
    bad: list[BadLine] = []
    seen: dict[str, int] = {}
    base = path.resolve().parent
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                task = _parse(line, base)
            except ValueError as error:
                bad.append(BadLine(number, str(error)))
                continue
            if task.id in seen:
                bad.append(
                    BadLine(number, f"id {task.id!r} is already used on line {seen[task.id]}")
                )
                continue
            seen[task.id] = number
            tasks.append(task)
    return tasks, bad


def _parse(line: str, base: Path) -> Task:
    try:
        data = json.loads(line.strip())
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    try:
        task = Task.model_validate(data)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "task"
        raise ValueError(f"{where}: {first['msg']}") from None
    files = tuple(file if file.is_absolute() else base / file for file in task.files)
    for file in files:
        if not file.exists():
            raise ValueError(f"files: {file} does not exist")
    return task.model_copy(update={"files": files})
