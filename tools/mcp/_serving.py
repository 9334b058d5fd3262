"""`ToolServer`: a built-in tool (python, the browser) served over MCP, so that other agents
use this project's sandbox and browser.

Each MCP session gets its own session of the tool (a kernel with every isolation layer, a
browser with its pages and cursors), opened at its first call and closed when the client
ends the MCP session, after `idle_timeout` seconds without a call, or when the server stops.
The tool keeps its own behaviour: the python tool's timeout and restart, the browser's limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jsonschema
from harmony_agent.tools import _feedback
from harmony_agent.tools._arguments import schema_problems
from harmony_agent.tools._base import (
    BuiltinTool,
    FunctionSpec,
    ToolError,
    ToolNamespace,
    ToolSession,
)

__all__ = ["Reply", "ServedFunction", "ToolServer", "browser_functions", "python_functions"]


@dataclass(frozen=True)
class Reply:
    """What a served tool answers: its text, the images it made (PNG files) and whether it
    is an error the caller can act on.
    """

    text: str
    images: Sequence[Path] = ()
    is_error: bool = False


@dataclass(frozen=True)
class ServedFunction:
    """One MCP tool: how clients see it, the built-in function it calls (None: the
    namespace itself, as `python`) and how its arguments become the message the tool reads.
    """

    spec: FunctionSpec
    function: str | None
    body: Callable[[Mapping[str, Any]], str]


def python_functions(description: str) -> tuple[ServedFunction, ...]:
    """`python`: code in, the kernel's output out; `description` is the trained text."""
    parameters = {
        "type": "object",
        "properties": {"code": {"type": "string", "description": "The Python code to run."}},
        "required": ["code"],
    }
    spec = FunctionSpec("python", description, parameters)
    return (ServedFunction(spec, None, lambda arguments: str(arguments["code"])),)


def browser_functions(namespace: ToolNamespace) -> tuple[ServedFunction, ...]:
    """The browser's trained functions (search, open, find), their arguments as JSON."""
    return tuple(
        ServedFunction(spec, spec.name, lambda arguments: json.dumps(dict(arguments)))
        for spec in namespace.functions
    )


@dataclass
class _Held:
    session: ToolSession
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    used: float = field(default_factory=time.monotonic)


class ToolServer:
    """Serves `tool` as the MCP tools `functions` (see the module's docstring)."""

    def __init__(
        self,
        tool: BuiltinTool,
        functions: Sequence[ServedFunction],
        *,
        instructions: str | None = None,
        idle_timeout: float = 1800.0,
        max_sessions: int = 16,
    ) -> None:
        self.tool = tool
        self.functions = {f.spec.name: f for f in functions}
        self.instructions = instructions
        self.idle_timeout = idle_timeout
        self.max_sessions = max_sessions
        self._validators = {
            name: jsonschema.Draft202012Validator(f.spec.parameters or {"type": "object"})
            for name, f in self.functions.items()
        }
        self._held: dict[str, _Held] = {}
        self._opening = asyncio.Lock()

    async def serve(self, transport: Literal["stdio", "http"], host: str, port: int) -> None:
        """Serves until stdin closes (stdio) or the task is cancelled (http); closes every
        session of the tool at the end.
        """
        from harmony_agent.tools.mcp import _sdk

        name = f"harmony-agent-{self.tool.namespace.name}"
        specs = [f.spec for f in self.functions.values()]
        reaper = asyncio.create_task(self._reap_idle())
        try:
            if transport == "stdio":
                await _sdk.serve_stdio(name, self.instructions, specs, self.call)
            else:
                await _sdk.serve_http(
                    name,
                    self.instructions,
                    specs,
                    self.call,
                    host=host,
                    port=port,
                    on_session_end=self.end_session,
                    idle_timeout=self.idle_timeout,
                )
        finally:
            reaper.cancel()
            await asyncio.shield(self.aclose())

    async def call(self, key: str, name: str, arguments: dict[str, Any]) -> Reply:
        """Runs one call of MCP session `key`."""
        served = self.functions.get(name)
        if served is None:
            return Reply(f"there is no tool named {name!r}", is_error=True)
        problems = schema_problems(list(self._validators[name].iter_errors(arguments)))
        if problems:
            fix = "Call it again with arguments that match its schema."
            return Reply(_feedback.invalid_arguments(name, problems, fix), is_error=True)
        try:
            held = await self._session(key)
        except ToolError as error:
            return Reply(str(error), is_error=True)
        async with held.lock:
            held.used = time.monotonic()
            try:
                async with asyncio.timeout(self.tool.timeout):
                    output = await held.session.call(served.function, served.body(arguments))
            except ToolError as error:
                return Reply(str(error), is_error=True)
            except TimeoutError:
                return Reply(f"{name} did not finish in time and was stopped", is_error=True)
            except Exception as error:
                return Reply(f"{name} raised {type(error).__name__}: {error}", is_error=True)
            finally:
                held.used = time.monotonic()
        return Reply(output.text, images=[p for p in output.files if p.suffix == ".png"])

    async def _session(self, key: str) -> _Held:
        async with self._opening:
            held = self._held.get(key)
            if held is not None:
                return held
            if len(self._held) >= self.max_sessions:
                raise ToolError(f"the server holds {self.max_sessions} sessions; try later")
            try:
                session = await self.tool.open_session()
            except Exception as error:
                raise ToolError(f"the tool could not start: {error}") from error
            held = self._held[key] = _Held(session)
            return held

    async def end_session(self, key: str) -> None:
        """Closes the tool's session of MCP session `key`, if it has one."""
        held = self._held.pop(key, None)
        if held is not None:
            async with held.lock:
                await held.session.aclose()

    async def _reap_idle(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, self.idle_timeout / 4))
            now = time.monotonic()
            for key, held in list(self._held.items()):
                if now - held.used > self.idle_timeout and not held.lock.locked():
                    await self.end_session(key)

    async def aclose(self) -> None:
        """Closes every session of the tool."""
        for key in list(self._held):
            with contextlib.suppress(Exception):
                await self.end_session(key)
