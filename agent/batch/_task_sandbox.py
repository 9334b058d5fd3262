"""A task's own sandbox: the agent's python with the task's files, and a fresh one for its check.

The model's code can rig its own kernel (an input transformer that turns every later cell into
`pass`, a patched `AssertionError`), so a check never runs there. It runs in a fresh sandbox
with the same settings: a trusted first cell takes the working directory off `sys.path` and
defines `final_answer`; then the files the run left are copied in (directories and regular
files only, bounded; see `harmony_agent.sandbox._files`), the run's kernel is closed, and the
check runs. The model's variables are not there: a check reads the files and `final_answer`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from pathlib import Path

from harmony_agent._agent import Agent
from harmony_agent.sandbox import ExecutionResult, Sandbox, SandboxConfig, SandboxError
from harmony_agent.sandbox._errors import CopyLimitExceeded
from harmony_agent.sandbox._files import CopyLimits, copy_tree
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


@dataclasses.dataclass(frozen=True)
class CheckRun:
    """The outcome of a task's Python check: `passed` when the code raised nothing."""

    passed: bool
    output: str


class TaskSandbox(BuiltinTool):
    """The python tool of one task: its kernel starts with the task's `files` and stays
    alive after the run until `check` (or `aclose`), so its files can be copied for the check.

    `config` is the agent's sandbox settings (or the defaults when the agent has no python).
    """

    def __init__(self, config: SandboxConfig, files: Sequence[Path]) -> None:
        self._tool = PythonTool(config.model_copy(update={"files": (*config.files, *files)}))
        self._session: PythonSession | None = None

    @classmethod
    def for_agent(cls, agent: Agent, files: Sequence[Path]) -> tuple[Agent, TaskSandbox]:
        """The agent with its python tool replaced by a task sandbox holding `files`."""
        python = next((t for t in agent.builtins if isinstance(t, PythonTool)), None)
        sandbox = cls(python.config if python is not None else SandboxConfig(), files)
        if python is None:
            return agent, sandbox
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

    async def check(self, code: str, final_answer: str) -> CheckRun:
        """Runs the check in a fresh sandbox holding a copy of the files the run left (the
        task's files, if the agent never used python), with `final_answer` defined; closes
        the run's kernel.

        Raises `SandboxError` when a sandbox fails before the check's code runs.
        """
        run, self._session = self._session, None
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
                try:
                    copied = await copy_tree(
                        run.sandbox.workdir,
                        checker.workdir,
                        limits=CopyLimits(file_bytes=config.max_file_mb << 20),
                        owner=NOBODY if checker.report.layers.setpriv else None,
                    )
                except CopyLimitExceeded as error:
                    return CheckRun(
                        False, f"the check did not run: the working directory holds {error}"
                    )
                await run.aclose()  # nothing of the model's runs while the check does
                skipped = copied.skipped_summary()
                note = skipped and f"not copied for the check: {skipped}"
            result = await checker.execute(code)
        if result.ok:
            return CheckRun(True, _lines(result.stdout, note))
        if result.timed_out:
            reason = f"the check ran past {config.cell_timeout_s:g} s"
        else:
            reason = _failure(result)
        return CheckRun(False, _lines(result.stdout, result.stderr, reason, note))

    async def aclose(self) -> None:
        """Kills the task's kernel (if `check` has not) and deletes its working directory."""
        session, self._session = self._session, None
        if session is not None:
            await session.aclose()


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
