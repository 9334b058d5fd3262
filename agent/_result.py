"""What a run produces: the answer, why it stopped, the calls it made, its token usage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from harmony_agent._history import History
from harmony_agent._messages import Message, Recovery
from harmony_agent.tools._base import Citation

__all__ = [
    "CallOutput",
    "RunResult",
    "StopReason",
    "ToolCall",
    "ToolErrorKind",
    "ToolResult",
    "Usage",
]


class StopReason(StrEnum):
    """Why a run ended."""

    FINAL = "final"
    """The model gave its final answer."""
    MAX_TURNS = "max_turns"
    """The run used all the generations `max_turns` allows."""
    MAX_TOKENS = "max_tokens"
    """The final answer was cut off at the per-generation token limit."""
    TOKEN_BUDGET = "token_budget"
    """The run generated all the tokens `max_run_tokens` allows."""
    TIMEOUT = "timeout"
    """The run's wall-clock `timeout` expired."""
    CANCELLED = "cancelled"
    """The run was cancelled through its stream."""
    ERROR_BUDGET = "error_budget"
    """The model made more errors than `max_model_errors` allows."""
    CONTEXT_FULL = "context_full"
    """The context window left too little room to generate, even with old results elided."""
    CLIENT_CALL = "client_call"
    """The model called a function the caller runs (`RunResult.pending_call`); the run goes on
    with its output (`CallOutput`)."""


@dataclass(frozen=True)
class Usage:
    """Token counts of a run. `turns` counts generations (model calls)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    turns: int = 0
    tool_calls: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens over all generations."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ToolCall:
    """A tool call as the model wrote it."""

    id: str
    recipient: str
    arguments: str
    channel: str | None = None
    content_type: str | None = None


class ToolErrorKind(StrEnum):
    """How a tool call failed; the model was told in each case."""

    INVALID_ARGUMENTS = "invalid_arguments"
    UNKNOWN_TOOL = "unknown_tool"
    TOOL_ERROR = "tool_error"
    """The tool raised `ToolError` with a message for the model."""
    EXCEPTION = "exception"
    """The tool raised another exception (see `ToolResult.traceback`)."""
    TIMEOUT = "timeout"
    CUT_OFF = "cut_off"
    """The call was cut off at the token limit and not run."""
    NOT_ALLOWED = "not_allowed"
    """`tool_choice` required another function to be called first."""


@dataclass(frozen=True)
class ToolResult:
    """One tool call and what came of it. `output` is exactly what the model read."""

    call: ToolCall
    output: str
    error: ToolErrorKind | None = None
    traceback: str | None = None
    files: tuple[Path, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0


@dataclass(frozen=True)
class CallOutput:
    """The output of the client function call a run stopped at (`RunResult.pending_call`):
    passed instead of a prompt, with that run as the history, it continues the same turn
    (`agent.run(CallOutput(text), history=result)`), its reasoning kept.
    """

    output: str


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run.

    `messages` are this run's messages in order (the user's, the assistant's including its
    analysis, the tools'); `history` continues the conversation in a later run
    (`agent.run(prompt, history=result)`). `output` is the final answer parsed by the agent's
    `output_type` (a model instance or JSON data), or `final_text` when it has none.
    `citations` are the sources the final answer cites, resolved by the browser.
    `pending_call` is the call to a client function the run stopped at
    (`StopReason.CLIENT_CALL`).
    """

    final_text: str
    output: Any
    stop_reason: StopReason
    messages: tuple[Message, ...]
    tool_calls: tuple[ToolResult, ...]
    usage: Usage
    recoveries: tuple[Recovery, ...]
    history: History
    citations: tuple[Citation, ...] = ()
    pending_call: ToolCall | None = None

    @property
    def ok(self) -> bool:
        """Whether the model gave its final answer."""
        return self.stop_reason is StopReason.FINAL
