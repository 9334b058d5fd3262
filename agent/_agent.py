"""`Agent`: immutable configuration of a model, its instructions, tools and limits."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from harmony_agent import _harmony
from harmony_agent._errors import ConfigError
from harmony_agent._events import Event
from harmony_agent._harmony import Reasoning
from harmony_agent._history import History
from harmony_agent._result import RunResult
from harmony_agent._run import Run
from harmony_agent._stream import RunStream
from harmony_agent._sync import run_sync
from harmony_agent.engines import Engine, SamplingParams
from harmony_agent.tools import BuiltinTool, FunctionTool, tool

__all__ = ["Agent"]

DEFAULT_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
"""The identity gpt-oss was trained with."""

ToolLike = FunctionTool | BuiltinTool | Callable[..., Any]


def _no_event(event: Event) -> None:
    """Ignores an event."""


@dataclass(frozen=True, kw_only=True)
class Agent:
    """A gpt-oss agent: the engine, the instructions, the tools and the limits of its runs.

    An Agent never changes; each run keeps its own state, so one agent serves many concurrent
    runs. Plain functions in `tools` are wrapped with `@tool`.

    Limits: `max_turns` generations per run, `max_tokens` per generation, `max_run_tokens`
    generated per run, `timeout` seconds of wall clock per run, `tool_timeout` seconds per tool
    call, and `max_model_errors` failed tool calls or unusable outputs before the run stops.
    `current_date` (YYYY-MM-DD) defaults to today's date when the run starts.
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

    def __post_init__(self) -> None:
        if not isinstance(self.engine, Engine):
            raise ConfigError(f"engine must implement the Engine protocol, got {self.engine!r}")
        if self.reasoning not in get_args(Reasoning):
            raise ConfigError(
                f"reasoning must be one of {get_args(Reasoning)}, got {self.reasoning!r}"
            )
        for name in ("max_turns", "max_tokens", "max_run_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        if self.max_model_errors < 0:
            raise ConfigError(f"max_model_errors must be 0 or more, got {self.max_model_errors}")
        if self.current_date is not None:
            try:
                datetime.date.fromisoformat(self.current_date)
            except ValueError:
                raise ConfigError(
                    f"current_date must be YYYY-MM-DD, got {self.current_date!r}"
                ) from None
        normalized = tuple(
            t if isinstance(t, FunctionTool | BuiltinTool) else tool(t) for t in self.tools
        )
        object.__setattr__(self, "tools", normalized)
        _check_unique([f.name for f in self.functions], "function")
        _check_unique([b.namespace.name for b in self.builtins], "built-in tool")
        if "functions" in {b.namespace.name for b in self.builtins}:
            raise ConfigError("a built-in tool cannot use the namespace 'functions'")

    @property
    def functions(self) -> tuple[FunctionTool, ...]:
        """The developer functions, in the order given."""
        return tuple(t for t in self.tools if isinstance(t, FunctionTool))

    @property
    def builtins(self) -> tuple[BuiltinTool, ...]:
        """The built-in tools (browser, python), in the order given."""
        return tuple(t for t in self.tools if isinstance(t, BuiltinTool))

    def render_preamble(self) -> list[int]:
        """The system and developer messages every run of this agent starts with."""
        return _harmony.render_preamble(
            identity=self.identity,
            knowledge_cutoff=self.knowledge_cutoff,
            current_date=self.current_date or datetime.date.today().isoformat(),
            reasoning=self.reasoning,
            builtin_tools=[b.namespace for b in self.builtins],
            instructions=self.instructions,
            functions=[f.spec for f in self.functions],
        )

    async def arun(
        self,
        prompt: str,
        *,
        history: History | RunResult | None = None,
        on_event: Callable[[Event], None] = _no_event,
    ) -> RunResult:
        """Runs the agent on `prompt` (continuing `history`, if given) until it answers or a
        limit stops it. `on_event` sees every event as it happens.

        Raises `EngineError` when the engine fails; what the model gets wrong never raises.
        """
        return await Run(self, prompt, _history(history), on_event).execute()

    def run(
        self,
        prompt: str,
        *,
        history: History | RunResult | None = None,
        on_event: Callable[[Event], None] = _no_event,
    ) -> RunResult:
        """Like `arun`, for code without an event loop (one loop per thread is kept, so engines
        bound to a loop keep working across calls).
        """
        return run_sync(self.arun(prompt, history=history, on_event=on_event))

    def stream(self, prompt: str, *, history: History | RunResult | None = None) -> RunStream:
        """The run's events as they happen: `async for event in agent.stream(prompt)`.

        The last event is `RunFinished`; `stream.cancel()` ends the run with
        `StopReason.CANCELLED`.
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
