"""`Agent`: immutable configuration of a model, its instructions, tools and limits."""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from harmony_agent import _harmony
from harmony_agent._errors import ConfigError
from harmony_agent._events import Event
from harmony_agent._harmony import Reasoning
from harmony_agent._history import History
from harmony_agent._output import OutputFormat, OutputType
from harmony_agent._result import CallOutput, RunResult
from harmony_agent._run import ANY_TOOL, AnyTool, Run
from harmony_agent._stream import RunStream
from harmony_agent._sync import run_sync
from harmony_agent.engines import Engine, SamplingParams, supports_json
from harmony_agent.tools import BuiltinTool, FunctionSource, FunctionSpec
from harmony_agent.tools._function import FunctionTool, tool

__all__ = ["Agent"]

_log = logging.getLogger(__name__)

DEFAULT_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
"""The identity gpt-oss was trained with."""

ToolLike = FunctionTool | BuiltinTool | FunctionSource | Callable[..., Any]


def _no_event(event: Event) -> None:
    """Ignores an event."""


@dataclass(frozen=True, kw_only=True)
class Agent:
    """A gpt-oss agent: the engine, the instructions, the tools and the limits of its runs.

    An Agent never changes; each run keeps its own state, so one agent serves many concurrent
    runs. Plain functions in `tools` are wrapped with `@tool`; a `FunctionSource` (an open
    `MCPToolset`) gives the functions it has when each run starts; a name clash is a
    `ConfigError` when the agent is built, and a function a source adds later under a name
    already taken is left out with a warning (see `functions`).

    Limits: `max_turns` generations per run, `max_tokens` per generation, `max_run_tokens`
    generated per run, `timeout` seconds of wall clock per run, `tool_timeout` seconds per tool
    call, and `max_model_errors` failed tool calls or unusable outputs before the run stops.
    `current_date` (YYYY-MM-DD) defaults to today's date when the run starts.

    `output_type` (a pydantic model or a JSON Schema) asks for a structured final answer; an
    invalid one is sent back with the reason, up to `max_output_retries` times. With
    `constrain_output` the engine's guided decoding writes the answer's text under the schema
    (the model still reasons and calls tools freely; the engine must support JSON Schema
    constraints, e.g. `VLLMEngine` with `structured_outputs=True`).
    `tool_choice` is "auto", "required" (a tool must be called before the final answer),
    "none" (no tools shown) or a function name (that function must be called first).

    `client_functions` are functions the model sees beside `tools` that the caller runs: a
    call to one ends the run with `StopReason.CLIENT_CALL` and the call in
    `RunResult.pending_call`; `arun(CallOutput(output), history=result)` goes on from there.

    Context: the window is `context_window` or else the engine's `max_model_len`. Each tool
    result is cut to `max_tool_output_tokens`; when fewer than `reserve_tokens` (or
    `max_tokens`, if smaller) would be left to generate, older tool results of the run are
    elided, and if that is not enough the run stops with `StopReason.CONTEXT_FULL`.
    """

    engine: Engine
    instructions: str | None = None
    tools: Sequence[ToolLike] = ()
    reasoning: Reasoning = "medium"
    max_turns: int = 32
    max_tokens: int = 16384
    max_run_tokens: int | None = None
    timeout: float | None = None
    tool_timeout: float | None = 120.0
    max_model_errors: int = 5
    sampling: SamplingParams = field(default_factory=SamplingParams)
    identity: str = DEFAULT_IDENTITY
    knowledge_cutoff: str = "2024-06"
    current_date: str | None = None
    output_type: OutputType | None = None
    max_output_retries: int = 2
    constrain_output: bool = False
    tool_choice: str = "auto"
    context_window: int | None = None
    reserve_tokens: int = 2048
    max_tool_output_tokens: int = 8192
    client_functions: Sequence[FunctionSpec] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.engine, Engine):
            raise ConfigError(f"engine must implement the Engine protocol, got {self.engine!r}")
        if self.reasoning not in get_args(Reasoning):
            raise ConfigError(
                f"reasoning must be one of {get_args(Reasoning)}, got {self.reasoning!r}"
            )
        for name in (
            "max_turns",
            "max_tokens",
            "max_run_tokens",
            "context_window",
            "reserve_tokens",
            "max_tool_output_tokens",
        ):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        for name in ("max_model_errors", "max_output_retries"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if self.current_date is not None:
            try:
                datetime.date.fromisoformat(self.current_date)
            except ValueError:
                raise ConfigError(
                    f"current_date must be YYYY-MM-DD, got {self.current_date!r}"
                ) from None
        normalized = tuple(
            t if isinstance(t, FunctionTool | BuiltinTool | FunctionSource) else tool(t)
            for t in self.tools
        )
        object.__setattr__(self, "tools", normalized)
        object.__setattr__(self, "client_functions", tuple(self.client_functions))
        _check_unique(
            [
                *(t.name for t in self.tools if isinstance(t, FunctionTool)),
                *(f.name for t in self.tools if isinstance(t, FunctionSource) for f in t.functions),
                *(spec.name for spec in self.client_functions),
            ],
            "function",
        )
        _check_unique([b.namespace.name for b in self.builtins], "built-in tool")
        if "functions" in {b.namespace.name for b in self.builtins}:
            raise ConfigError("a built-in tool cannot use the namespace 'functions'")
        names = {f"functions.{f.name}" for f in self.function_specs}
        if self.tool_choice not in ("auto", "required", "none") and self.required_call not in names:
            raise ConfigError(
                f"tool_choice must be 'auto', 'required', 'none' or a function name, "
                f"got {self.tool_choice!r}"
            )
        _ = self.output_format  # validates output_type now rather than at the first run
        if self.constrain_output and self.output_type is None:
            raise ConfigError("constrain_output needs an output_type to constrain the answer to")
        if self.constrain_output and not supports_json(self.engine):
            raise ConfigError(
                f"constrain_output needs an engine that supports JSON Schema constraints; "
                f"{type(self.engine).__name__} does not (VLLMEngine needs structured_outputs=True)"
            )

    @property
    def functions(self) -> tuple[FunctionTool, ...]:
        """The developer functions, in the order given (a source's as it has them now).

        A source's function whose name another function already has (the developer's own, a
        client function, or one of a source given earlier) is left out with a warning: a
        source's list changes while the agent is in use (an MCP server's `tools/list_changed`),
        and a tool it adds must not take over, nor break, a name the developer gave.
        """
        taken = {t.name for t in self.tools if isinstance(t, FunctionTool)}
        taken |= {spec.name for spec in self.client_functions}
        functions: list[FunctionTool] = []
        for t in self.tools:
            if isinstance(t, FunctionTool):
                functions.append(t)
            elif isinstance(t, FunctionSource):
                for function in t.functions:
                    if function.name in taken:
                        _log.warning(
                            "the tool %r of %s is not shown: another tool has its name",
                            function.name,
                            t,
                        )
                        continue
                    taken.add(function.name)
                    functions.append(function)
        return tuple(functions)

    @property
    def function_specs(self) -> tuple[FunctionSpec, ...]:
        """Every function the model sees: the developer's, then the client's."""
        return (*(f.spec for f in self.functions), *self.client_functions)

    @property
    def builtins(self) -> tuple[BuiltinTool, ...]:
        """The built-in tools (browser, python), in the order given."""
        return tuple(t for t in self.tools if isinstance(t, BuiltinTool))

    @property
    def tools_shown(self) -> bool:
        """Whether the model sees (and may call) the tools: not with `tool_choice="none"`."""
        return self.tool_choice != "none"

    @property
    def required_call(self) -> str | AnyTool | None:
        """The call the model must make before answering: a recipient, `ANY_TOOL`, or None."""
        if self.tool_choice in ("auto", "none"):
            return None
        if self.tool_choice == "required":
            return ANY_TOOL
        return f"functions.{self.tool_choice.removeprefix('functions.')}"

    @functools.cached_property
    def output_format(self) -> OutputFormat | None:
        """The structured output the final answer must match, if any."""
        return None if self.output_type is None else OutputFormat.of(self.output_type)

    def render_preamble(self) -> list[int]:
        """The system and developer messages every run of this agent starts with."""
        shown = self.tools_shown
        output_format = self.output_format
        return _harmony.render_preamble(
            identity=self.identity,
            knowledge_cutoff=self.knowledge_cutoff,
            current_date=self.current_date or datetime.date.today().isoformat(),
            reasoning=self.reasoning,
            builtin_tools=[b.namespace for b in self.builtins] if shown else [],
            instructions=self.instructions,
            functions=list(self.function_specs) if shown else [],
            response_format=None if output_format is None else output_format.response_format,
        )

    async def arun(
        self,
        prompt: str | CallOutput,
        *,
        history: History | RunResult | None = None,
        on_event: Callable[[Event], None] = _no_event,
    ) -> RunResult:
        """Runs the agent on `prompt` (continuing `history`, if given) until it answers or a
        limit stops it. `on_event` sees every event as it happens. A `CallOutput` instead of
        a prompt answers the client function call `history` stopped at.

        Raises from the `HarmonyAgentError` tree only: `EngineError` when the engine fails,
        `ToolUnavailable` when a tool cannot start (its sandbox's error chained),
        `OutputValidationError` when the answer never matched `output_type`. Whatever else the
        model gets wrong never raises.
        """
        return await Run(self, prompt, _history(history), on_event).execute()

    def run(
        self,
        prompt: str | CallOutput,
        *,
        history: History | RunResult | None = None,
        on_event: Callable[[Event], None] = _no_event,
    ) -> RunResult:
        """Like `arun`, for code without an event loop (one loop per thread is kept, so engines
        bound to a loop keep working across calls).
        """
        return run_sync(self.arun(prompt, history=history, on_event=on_event))

    def stream(
        self, prompt: str | CallOutput, *, history: History | RunResult | None = None
    ) -> RunStream:
        """The run's events as they happen: `async for event in agent.stream(prompt)`.

        The last event is `RunFinished` (a run that raises, as `arun` would, raises from the
        iteration instead); `stream.cancel()` ends the run with `StopReason.CANCELLED`.
        """
        return RunStream(lambda emit: Run(self, prompt, _history(history), emit))


def _history(history: History | RunResult | None) -> History:
    if history is None:
        return History()
    return history.history if isinstance(history, RunResult) else history


def _check_unique(names: list[str], what: str) -> None:
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"two tools use the {what} name {duplicates[0]!r}")
