"""A task's own sandbox: the agent's python with the task's files, kept for the check.

The python tool closes its kernel when a run ends; a batch task needs that same kernel (its
variables, the files the agent wrote) afterwards to run the task's Python check. So the task's
agent gets a python tool whose session outlives the run, and the check runs in it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from harmony_agent._agent import Agent
from harmony_agent.sandbox import Sandbox, SandboxConfig
from harmony_agent.tools import BuiltinTool, ToolNamespace, ToolOutput, ToolSession
from harmony_agent.tools.python import PythonSession, PythonTool

__all__ = ["CheckRun", "TaskSandbox"]


@dataclasses.dataclass(frozen=True)
class CheckRun:
    """The outcome of a task's Python check: `passed` when the code raised nothing."""

    passed: bool
    output: str


class TaskSandbox(BuiltinTool):
    """The python tool of one task: its kernel starts with the task's `files` and stays
    alive after the run until `aclose`, so `check` runs in the state the agent left.

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

    async def check(self, code: str) -> CheckRun:
        """Runs the check in the task's kernel (started now if the agent never used python)."""
        if self._session is None:
            self._session = await self._tool.open_session()
        sandbox: Sandbox = self._session.sandbox
        result = await sandbox.execute(code)
        if result.ok:
            return CheckRun(True, result.stdout)
        if result.timed_out:
            reason = f"the check ran past {sandbox.config.cell_timeout_s:g} s"
        else:
            reason = result.died or result.error or "the check failed"
        return CheckRun(False, "\n".join(filter(None, [result.stdout, result.stderr, reason])))

    async def aclose(self) -> None:
        """Kills the task's kernel and deletes its working directory."""
        session, self._session = self._session, None
        if session is not None:
            await session.aclose()


class _Borrowed(ToolSession):
    """A run's view of the task's python session: closing it keeps the kernel."""

    def __init__(self, session: PythonSession) -> None:
        self._session = session

    async def call(self, function: str | None, arguments: str) -> ToolOutput:
        return await self._session.call(function, arguments)

    async def aclose(self) -> None:
        """Leaves the kernel running; `TaskSandbox.aclose` ends it."""
