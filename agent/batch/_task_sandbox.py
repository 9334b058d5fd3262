"""A task's own sandbox: the agent's python with the task's files, and a fresh one for its check.

The model's code can rig its own kernel (an input transformer that turns every later cell into
`pass`, a patched `AssertionError`), so a check never runs there. It runs as a one-shot
program (`ProgramRunner`; where the host cannot run those, in a fresh kernel with the same
settings): first code of its own takes the working directory off `sys.path` and defines
`final_answer`; the files the run left are copied in (directories and regular files only,
bounded; see `harmony_agent.sandbox._files`), the run's kernel is closed, and the check runs.
The model's variables are not there: a check reads the files and `final_answer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path

from harmony_agent._agent import Agent
from harmony_agent.batch._checks import CheckRunners
from harmony_agent.sandbox import (
    ExecutionResult,
    KernelPool,
    ProgramResult,
    ProgramRunner,
    Sandbox,
    SandboxConfig,
    SandboxError,
)
from harmony_agent.sandbox._errors import CopyLimitExceeded
from harmony_agent.sandbox._files import CopyLimits, copy_in, copy_tree
from harmony_agent.sandbox._launch import NOBODY
from harmony_agent.tools import BuiltinTool, ToolNamespace, ToolOutput, ToolSession
from harmony_agent.tools.python import PythonTool
from harmony_agent.tools.python._session import PythonSession

__all__ = ["CheckRun", "TaskSandbox"]

_PREPARE = """\
def _prepare():
    import os, sys
    here = os.path.realpath(os.getcwd())
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != here]
_prepare()
del _prepare
final_answer = {answer!r}
"""
"""The check sandbox's first cell, run before any file of the model's is there: files in the
working directory are data, not modules a later import could pick up by accident.
"""

_PROGRAM = """\
{prepare}import linecache as _linecache
_check = {code!r}
_linecache.cache["<check>"] = (len(_check), None, _check.splitlines(True), "<check>")
del _linecache
exec(compile(_check, "<check>", "exec"), {{"__name__": "__main__", "final_answer": final_answer}})
"""
"""A check as a one-shot program: the first cell's work, then the check's code with nothing
but `final_answer` defined, its tracebacks naming `<check>` and its own lines.
"""


@dataclasses.dataclass(frozen=True)
class CheckRun:
    """The outcome of a task's Python check: `passed` when the code raised nothing."""

    passed: bool
    output: str


class TaskSandbox(BuiltinTool):
    """The python tool of one task: its kernel starts with the task's `files` and stays
    alive after the run until `check` (or `aclose`), so its files can be copied for the check.

    `config` is the agent's sandbox settings (or the defaults when the agent has no python);
    a task without `files` takes its kernel from `pool`, the agent's, when it has one.
    """

    def __init__(
        self, config: SandboxConfig, files: Sequence[Path], pool: KernelPool | None = None
    ) -> None:
        if files or pool is None:
            config = config.model_copy(update={"files": (*config.files, *files)})
            self._tool = PythonTool(config)
        else:  # the agent's pool serves tasks without files of their own
            self._tool = PythonTool(pool=pool)
        self._session: PythonSession | None = None

    @classmethod
    def for_agent(cls, agent: Agent, files: Sequence[Path]) -> tuple[Agent, TaskSandbox]:
        """The agent with its python tool replaced by a task sandbox holding `files` (a
        kernel of the tool's pool, if it has one and the task has no files).
        """
        python = next((t for t in agent.builtins if isinstance(t, PythonTool)), None)
        if python is None:
            return agent, cls(SandboxConfig(), files)
        sandbox = cls(python.config, files, python.pool)
        tools = [sandbox if t is python else t for t in agent.tools]
        return dataclasses.replace(agent, tools=tools), sandbox

    @property
    def namespace(self) -> ToolNamespace:
        """`python`, as the agent's own python tool describes it."""
        return self._tool.namespace

    async def open_session(self) -> ToolSession:
        """Starts the task's kernel; the run's `aclose` leaves it running for the check."""
        if self._session is None:
            self._session = await self._tool.open_session()
        return _Borrowed(self._session)

    async def check(self, code: str, final_answer: str, runners: CheckRunners) -> CheckRun:
        """Runs the check as a one-shot program of the runner `runners` has for this task's
        settings (where it has none, in a fresh sandboxed kernel) holding a copy of the
        files the run left (the task's files, if the agent never used python), with
        `final_answer` defined; closes the run's kernel first.

        Raises `SandboxError` when a sandbox fails before the check's code runs.
        """
        run, self._session = self._session, None
        try:
            runner = await runners.runner(self._tool.config)
            if runner is None:
                return await self._check_in_kernel(run, code, final_answer)
            return await self._check_as_program(runner, run, code, final_answer)
        except CopyLimitExceeded as error:
            return CheckRun(False, f"the check did not run: the working directory holds {error}")

    async def _check_as_program(
        self, runner: ProgramRunner, run: PythonSession | None, code: str, final_answer: str
    ) -> CheckRun:
        """`check` as a one-shot program (the run's files pass through a copy of the host's,
        so that the run's kernel is closed before the check starts).
        """
        config = self._tool.config
        with tempfile.TemporaryDirectory(prefix="harmony-check-") as name:
            copy = Path(name)
            async with contextlib.AsyncExitStack() as stack:
                if run is not None:
                    stack.push_async_callback(run.aclose)
                    note = await self._copy_for_check(run, copy)
                else:
                    await asyncio.to_thread(copy_in, config.files, copy)
                    note = None
            program = _PROGRAM.format(prepare=_PREPARE.format(answer=final_answer), code=code)
            result = await runner.run(program, directory=copy)
        return _check_run(result, config, note)

    async def _check_in_kernel(
        self, run: PythonSession | None, code: str, final_answer: str
    ) -> CheckRun:
        """`check` in a fresh sandboxed kernel."""
        config = self._tool.config
        async with contextlib.AsyncExitStack() as stack:
            if run is not None:
                stack.push_async_callback(run.aclose)
            checker = await stack.enter_async_context(
                Sandbox(config.model_copy(update={"files": config.files if run is None else ()}))
            )
            prepared = await checker.execute(_PREPARE.format(answer=final_answer))
            if not prepared.ok:
                raise SandboxError(f"the check's sandbox failed to start: {_failure(prepared)}")
            note = None
            if run is not None:
                owner = NOBODY if checker.report.layers.setpriv else None
                note = await self._copy_for_check(run, checker.workdir, owner=owner)
            result = await checker.execute(code)
        return _check_run(result, config, note)

    async def _copy_for_check(
        self, run: PythonSession, target: Path, *, owner: int | None = None
    ) -> str | None:
        """Copies the run's working directory into `target`, then closes the run's kernel
        (nothing of the model's runs while the check does); returns a note of what was not
        copied. Raises `CopyLimitExceeded` when it holds more than a copy may take.
        """
        copied = await copy_tree(
            run.sandbox.workdir,
            target,
            limits=CopyLimits(file_bytes=self._tool.config.max_file_mb << 20),
            owner=owner,
        )
        await run.aclose()
        skipped = copied.skipped_summary()
        return skipped and f"not copied for the check: {skipped}"

    async def aclose(self) -> None:
        """Kills the task's kernel (if `check` has not) and deletes its working directory."""
        session, self._session = self._session, None
        if session is not None:
            await session.aclose()


def _check_run(
    result: ExecutionResult | ProgramResult, config: SandboxConfig, note: str | None
) -> CheckRun:
    """The check's outcome from the result of its code (a cell's or a program's)."""
    if result.ok:
        return CheckRun(True, _lines(result.stdout, note))
    if result.timed_out:
        reason = f"the check ran past {config.cell_timeout_s:g} s"
    elif isinstance(result, ExecutionResult):
        reason = _failure(result)
    elif result.memory_killed:
        reason = f"the check was killed at its memory limit ({config.memory_mb} MB)"
    else:
        reason = f"the check exited with status {result.exit_code}"
    return CheckRun(False, _lines(result.stdout, result.stderr, reason, note))


def _failure(result: ExecutionResult) -> str:
    return result.died or result.error or "the cell failed"


def _lines(*parts: str | None) -> str:
    return "\n".join(part.rstrip("\n") for part in parts if part)


class _Borrowed(ToolSession):
    """A run's view of the task's python session: closing it keeps the kernel."""

    def __init__(self, session: PythonSession) -> None:
        self._session = session

    async def call(self, function: str | None, arguments: str) -> ToolOutput:
        return await self._session.call(function, arguments)

    async def aclose(self) -> None:
        """Leaves the kernel running; `TaskSandbox.aclose` ends it."""
