"""Batches of one-shot programs: a JSONL file of code (or a completion and its tests), each
run once in the sandbox, each result appended to the results file as it ends.

A line is `{"id", "code", "stdin", "files", "timeout_s"}` (`files` maps relative paths to
contents), or, in place of `code`, HumanEval's shape: `{"id", "prompt", "completion", "test",
"entry_point"}`, run as the prompt, the completion, the tests and `check(entry_point)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from harmony_agent._errors import ToolUnavailable
from harmony_agent._redact import Redactor
from harmony_agent.batch._ray_work import RayWork
from harmony_agent.batch._results import ResultsFile
from harmony_agent.batch._tasks import BadLine, read_lines, validated
from harmony_agent.sandbox import ProgramResult, ProgramRunner, SandboxConfig, SandboxError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ProgramOutcome",
    "ProgramStatus",
    "ProgramTask",
    "ProgramWork",
    "read_programs",
    "run_program",
    "run_programs",
    "started_runner",
]


class ProgramTask(BaseModel):
    """One program: `code`, or a `completion` with its `test` (and optionally the `prompt`
    before it and the `entry_point` its `check` is called with).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="Unique in the file; results are keyed by it.")
    code: str | None = None
    stdin: str = ""
    files: dict[str, str] = Field(default_factory=dict)
    timeout_s: Annotated[float, Field(gt=0)] | None = None
    prompt: str = ""
    completion: str | None = None
    test: str | None = None
    entry_point: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _number_is_an_id(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _one_shape(self) -> ProgramTask:
        tested = (self.completion, self.test)
        if (self.code is None) == (None in tested) or (
            self.code is not None and tested != (None, None)
        ):
            raise ValueError("give either `code` or `completion` with `test`")
        return self

    def program(self) -> str:
        """The code to run."""
        if self.code is not None:
            return self.code
        check = f"\ncheck({self.entry_point})\n" if self.entry_point else "\n"
        return f"{self.prompt}{self.completion}\n{self.test}{check}"


def read_programs(path: Path) -> tuple[list[ProgramTask], list[BadLine]]:
    """The valid programs of a JSONL file and its bad lines. Raises OSError when it cannot
    be read.
    """
    return read_lines(path, lambda data: validated(ProgramTask, data))


class ProgramStatus(StrEnum):
    """How a program ended."""

    PASSED = "passed"
    """It exited with status 0."""
    FAILED = "failed"
    """It exited with another status, or was killed at the memory limit."""
    TIMED_OUT = "timed_out"
    """It ran past its timeout and was killed."""
    ERROR = "error"
    """It could not run (e.g. a file path outside its working directory)."""


@dataclass(frozen=True)
class ProgramOutcome:
    """One program's result, as written to the results file (`ProgramResult`'s fields with
    the id, the status and, for `ProgramStatus.ERROR`, the error).
    """

    id: str
    status: ProgramStatus
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    memory_killed: bool = False
    duration_s: float = 0.0
    cpu_s: float | None = None
    peak_memory_bytes: int | None = None
    error: str | None = None

    @classmethod
    def of(cls, task_id: str, result: ProgramResult) -> ProgramOutcome:
        """The outcome of a program that ran."""
        if result.timed_out:
            status = ProgramStatus.TIMED_OUT
        else:
            status = ProgramStatus.PASSED if result.ok else ProgramStatus.FAILED
        fields = asdict(result)
        del fields["not_copied"]  # a batch of programs copies no directory in
        return cls(task_id, status, **fields)

    def record(self) -> dict[str, Any]:
        """The JSON line for the results file."""
        return {**asdict(self), "status": str(self.status)}


def _ignore(outcome: ProgramOutcome) -> None:
    """Ignores a finished program."""


async def run_program(runner: ProgramRunner, task: ProgramTask) -> ProgramOutcome:
    """Runs `task` on `runner`; a program that cannot run is an `ERROR` outcome."""
    try:
        result = await runner.run(
            task.program(), stdin=task.stdin, files=task.files, timeout_s=task.timeout_s
        )
    except SandboxError as error:
        return ProgramOutcome(task.id, ProgramStatus.ERROR, error=str(error))
    return ProgramOutcome.of(task.id, result)


@contextlib.asynccontextmanager
async def started_runner(config: SandboxConfig) -> AsyncIterator[ProgramRunner]:
    """A started `ProgramRunner` with `config`, closed at the end; raises
    `ToolUnavailable` when the sandbox cannot start here.
    """
    runner = ProgramRunner(config)
    try:
        await runner.start()
    except SandboxError as error:
        raise ToolUnavailable("sandbox", error) from error
    try:
        yield runner
    finally:
        await runner.aclose()


@dataclass(frozen=True)
class ProgramWork(RayWork[ProgramTask, ProgramOutcome]):
    """Programs on Ray workers: each worker starts its own `ProgramRunner` with `config`."""

    config: SandboxConfig

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Callable[[ProgramTask], Awaitable[ProgramOutcome]]]:
        """Starts the worker's runner; gives `run_program` on it."""
        async with started_runner(self.config) as runner:
            yield functools.partial(run_program, runner)

    def lost(self, task_id: str, error: str) -> ProgramOutcome:
        """An `ERROR` outcome saying so."""
        return ProgramOutcome(task_id, ProgramStatus.ERROR, error=error)

    def record(self, outcome: ProgramOutcome, redactor: Redactor) -> dict[str, Any]:
        """`ProgramOutcome.record`, redacted."""
        record: dict[str, Any] = redactor.value(outcome.record())
        return record


async def run_programs(
    runner: ProgramRunner,
    tasks: Iterable[ProgramTask],
    results: ResultsFile,
    *,
    concurrency: int = 2,
    on_finished: Callable[[ProgramOutcome], None] = _ignore,
) -> None:
    """Runs every task on `runner`, `concurrency` at once, appending each outcome to
    `results` (strings shaped like API keys redacted) before handing it to `on_finished`.
    """
    queue: asyncio.Queue[ProgramTask] = asyncio.Queue()
    for task in tasks:
        queue.put_nowait(task)
    redactor = Redactor(())
    writing = asyncio.Lock()

    async def work() -> None:
        while not queue.empty():
            outcome = await run_program(runner, queue.get_nowait())
            async with writing:
                await asyncio.to_thread(results.append, redactor.value(outcome.record()))
            on_finished(outcome)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, queue.qsize())):
            group.create_task(work())
