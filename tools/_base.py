"""What every tool the model can call has in common.

A tool is configuration (immutable, shared by every run of an agent). Built-in tools (the
browser, python) own a namespace of their own in the system message and keep per-run state in
a `ToolSession` that the run opens and closes. Function tools live together in the
`functions` namespace of the developer message and keep no state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harmony_agent.tools._function import FunctionTool

__all__ = [
    "BuiltinTool",
    "Citation",
    "FunctionSource",
    "FunctionSpec",
    "ToolError",
    "ToolNamespace",
    "ToolOutput",
    "ToolSession",
]


class ToolError(Exception):
    """Raised by tool code to send a message the model can act on; the run goes on.

    The message is shown to the model as the tool's result, so it should say what was wrong
    and how to call the tool correctly. Every other exception is reported to the model too,
    but as "`name` raised `Type`: message", with the traceback kept for the developer.
    """


@dataclass(frozen=True)
class FunctionSpec:
    """One callable function as the model sees it.

    `parameters` is the JSON Schema of the arguments object (None: takes no arguments).
    """

    name: str
    description: str
    parameters: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ToolNamespace:
    """A namespace of functions rendered into the system or developer message.

    `description=None` on a built-in namespace (browser, python) means: the text the model was
    trained on, as the harmony library renders it.
    """

    name: str
    description: str | None = None
    functions: tuple[FunctionSpec, ...] = ()


@dataclass(frozen=True)
class ToolOutput:
    """The result of one tool call.

    `text` is what the model reads. `files` are files the call produced (e.g. images saved by
    python) and `data` holds structured details for the developer and the trace; neither is
    shown to the model.
    """

    text: str
    files: tuple[Path, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Citation:
    """A source the final answer cites, resolved: the marker as written and what it points to.

    `marker` is the text in the answer (e.g. `【3†L9-L11】`); `lines` are the cited line numbers
    (first, last) and `text` the cited lines themselves.
    """

    marker: str
    url: str
    title: str
    lines: tuple[int, int]
    text: str


class ToolSession(ABC):
    """The state one run keeps for one built-in tool (open pages, a live kernel)."""

    @abstractmethod
    async def call(self, function: str | None, arguments: str) -> ToolOutput:
        """Runs one call: `function` is the part after the namespace (None for `python`).

        `arguments` is the message body as the model wrote it (JSON or code). Problems the
        model can fix are raised as `ToolError`.
        """

    def cite(self, text: str) -> Sequence[Citation]:
        """Resolves the citations in `text` (the final answer) to the sources this session
        showed the model; sessions that show no sources have none.
        """
        return ()

    @abstractmethod
    async def aclose(self) -> None:
        """Releases what the session holds; called once when the run ends."""


class BuiltinTool(ABC):
    """A tool with a namespace of its own in the system message (browser, python)."""

    @property
    @abstractmethod
    def namespace(self) -> ToolNamespace:
        """The namespace the model sees."""

    @property
    def timeout(self) -> float | None:
        """How long one call may take before the run stops it; None: the agent's
        `tool_timeout`. Tools with time limits of their own give one that leaves them room
        to enforce those and tell the model what happened.
        """
        return None

    @abstractmethod
    async def open_session(self) -> ToolSession:
        """Starts the per-run state; the run closes it with `ToolSession.aclose`."""


class FunctionSource(ABC):
    """Functions that come from elsewhere and may change between runs (the tools of MCP
    servers): an agent reads `functions` each time a run starts, so a run sees the list as
    it was then.
    """

    @property
    @abstractmethod
    def functions(self) -> Sequence[FunctionTool]:
        """The functions the model sees now."""
