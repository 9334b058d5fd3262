"""Routes a tool call to the tool its recipient names, and runs it.

The router holds the run's built-in tool sessions (opened on first use, closed with the run).
Whatever goes wrong in a call becomes a `ToolResult` whose output tells the model what to do;
only cancellation and a failure to open a tool session (infrastructure: `ToolUnavailable`, or
the tool's `ConfigError`) propagate.
"""

from __future__ import annotations

import asyncio
import functools
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from harmony_agent._errors import ConfigError, ToolUnavailable
from harmony_agent._result import ToolCall, ToolErrorKind, ToolResult
from harmony_agent.tools import (
    BuiltinTool,
    FunctionSpec,
    InvalidArguments,
    ToolOutput,
    ToolSession,
    _feedback,
)
from harmony_agent.tools._base import Citation, ToolError
from harmony_agent.tools._function import FunctionTool

__all__ = ["BuiltinRoute", "ClientRoute", "FunctionRoute", "Route", "Router"]

FUNCTIONS = "functions"
_GLUED_SUFFIXES = ("json", "code")


@dataclass(frozen=True)
class FunctionRoute:
    """A call to a developer function. `recipient` is the canonical name."""

    recipient: str
    function: FunctionTool
    repaired_from: str | None = None


@dataclass(frozen=True)
class BuiltinRoute:
    """A call to a built-in tool's namespace (`function` is None for `python`)."""

    recipient: str
    tool: BuiltinTool
    function: str | None


@dataclass(frozen=True)
class ClientRoute:
    """A call to a function the caller runs (`Agent.client_functions`): the run stops at it.
    `recipient` is the canonical name.
    """

    recipient: str
    repaired_from: str | None = None


Route = FunctionRoute | BuiltinRoute


class Router:
    """Resolves recipients and runs calls for one run."""

    def __init__(
        self,
        functions: Sequence[FunctionTool],
        builtins: Sequence[BuiltinTool],
        *,
        timeout: float | None,
        client: Sequence[FunctionSpec] = (),
    ) -> None:
        targets: list[FunctionTool | FunctionSpec] = [*functions, *client]
        self._functions = {f"{FUNCTIONS}.{f.name}": f for f in targets}
        self._builtins = {b.namespace.name: b for b in builtins}
        self._timeout = timeout
        self._sessions: dict[str, ToolSession] = {}
        self._session_lock = asyncio.Lock()

    @property
    def recipients(self) -> list[str]:
        """Every name a call may go to."""
        return [*self._functions, *self._builtins]

    def resolve(self, recipient: str) -> Route | ClientRoute | None:
        """Finds the tool for `recipient`, repairing a missing `functions.` prefix."""
        function = self._functions.get(recipient)
        if function is not None:
            return _function_route(recipient, function, None)
        namespace, _, name = recipient.partition(".")
        builtin = self._builtins.get(namespace)
        if builtin is not None:
            return BuiltinRoute(recipient, builtin, name or None)
        prefixed = f"{FUNCTIONS}.{recipient}"
        function = self._functions.get(prefixed)
        if function is not None:
            return _function_route(prefixed, function, recipient)
        return self._resolve_glued(recipient)

    def _resolve_glued(self, recipient: str) -> FunctionRoute | ClientRoute | None:
        """A function name with the content type glued on (`functions.shelljson`)."""
        for suffix in _GLUED_SUFFIXES:
            name = recipient.removesuffix(suffix)
            if name != recipient and name:
                route = self.resolve(name)
                if isinstance(route, FunctionRoute | ClientRoute):
                    return replace(route, repaired_from=recipient)
        return None

    async def call(self, route: Route, call: ToolCall) -> ToolResult:
        """Runs a resolved call; failures the model can fix come back as its output."""
        started = time.monotonic()
        timeout = self._timeout
        run: Callable[[], Awaitable[ToolOutput]]
        if isinstance(route, FunctionRoute):
            timeout = route.function.timeout if route.function.timeout is not None else timeout
            run = functools.partial(route.function.call, call.arguments)
        else:
            timeout = route.tool.timeout if route.tool.timeout is not None else timeout
            session = await self._session(route.tool)
            run = functools.partial(session.call, route.function, call.arguments)
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                output = await run()
        except Exception as exc:
            stopped_after = timeout if scope.expired() else None
            error, text = _failure(route.recipient, exc, stopped_after)
            trace = traceback.format_exc() if error is ToolErrorKind.EXCEPTION else None
            return ToolResult(call, text, error, trace, duration_s=time.monotonic() - started)
        return ToolResult(
            call,
            output.text,
            files=output.files,
            data=output.data,
            duration_s=time.monotonic() - started,
        )

    def unknown(self, call: ToolCall) -> ToolResult:
        """The answer to a call whose recipient names no tool."""
        text = _feedback.no_such_tool(call.recipient, self.recipients)
        return ToolResult(call, text, ToolErrorKind.UNKNOWN_TOOL)

    async def _session(self, tool: BuiltinTool) -> ToolSession:
        """The run's session of `tool`, opened on first use; a tool that cannot start raises
        `ToolUnavailable` with its error chained (a `ConfigError` stays one).
        """
        name = tool.namespace.name
        async with self._session_lock:
            if name not in self._sessions:
                try:
                    self._sessions[name] = await tool.open_session()
                except ConfigError:
                    raise
                except Exception as error:
                    raise ToolUnavailable(name, error) from error
            return self._sessions[name]

    def cite(self, text: str) -> tuple[Citation, ...]:
        """The citations in `text` resolved by the sessions of this run, in their order."""
        return tuple(c for session in self._sessions.values() for c in session.cite(text))

    async def aclose(self) -> None:
        """Closes every session this run opened."""
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.aclose()


def _function_route(
    recipient: str, function: FunctionTool | FunctionSpec, repaired_from: str | None
) -> FunctionRoute | ClientRoute:
    """The route to a function this process runs, or to one its caller runs."""
    if isinstance(function, FunctionTool):
        return FunctionRoute(recipient, function, repaired_from)
    return ClientRoute(recipient, repaired_from)


def _failure(
    recipient: str, error: Exception, stopped_after: float | None
) -> tuple[ToolErrorKind, str]:
    """What went wrong in a call and what the model reads of it; `stopped_after` is the time
    limit when the call was stopped at it (a tool's own `TimeoutError` is an exception).
    """
    match error:
        case InvalidArguments():
            return ToolErrorKind.INVALID_ARGUMENTS, _feedback.tool_error(str(error))
        case ToolError():
            return ToolErrorKind.TOOL_ERROR, _feedback.tool_error(str(error))
        case TimeoutError() if stopped_after is not None:
            return ToolErrorKind.TIMEOUT, _feedback.tool_timed_out(recipient, stopped_after)
        case _:
            return ToolErrorKind.EXCEPTION, _feedback.tool_raised(recipient, error)
