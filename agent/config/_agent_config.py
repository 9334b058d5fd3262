"""`AgentConfig`: one YAML file's description of an agent run, and the `Agent` it builds."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from harmony_agent import _harmony
from harmony_agent._agent import Agent
from harmony_agent._errors import ConfigError
from harmony_agent._output import OutputType
from harmony_agent.config._engines import (
    DefaultEngineConfig,
    EngineConfig,
    HTTPEngineConfig,
    VLLMEngineConfig,
    build_engine,
)
from harmony_agent.config._functions import FunctionConfig, import_object
from harmony_agent.config._text_file import read_text_file
from harmony_agent.engines import Engine, SamplingParams
from harmony_agent.sandbox import SandboxConfig
from harmony_agent.tools import BuiltinTool
from harmony_agent.tools._function import FunctionTool
from harmony_agent.tools.browser import Browser, BrowserConfig
from harmony_agent.tools.mcp import MCPHTTPServer, MCPServerConfig, MCPToolset
from harmony_agent.tools.mcp._config import check_unique_names
from harmony_agent.tools.python import PythonTool
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    PrivateAttr,
    field_validator,
    model_validator,
)

__all__ = ["AgentConfig", "LimitsConfig", "OutputConfig", "SamplingConfig", "ToolsConfig"]

_AGENT_FIELDS = {f.name: f for f in dataclasses.fields(Agent)}


def _agent_default(name: str) -> Any:
    """The `Agent` default for `name`, so the config and the Python API cannot disagree."""
    return _AGENT_FIELDS[name].default


class LimitsConfig(BaseModel):
    """When a run stops, and how its context is kept: `Agent` parameters of the same names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_turns: PositiveInt = Field(
        default=_agent_default("max_turns"), description="Generations (model calls) per run."
    )
    max_tokens: PositiveInt = Field(
        default=_agent_default("max_tokens"), description="Tokens per generation."
    )
    max_run_tokens: PositiveInt | None = Field(
        default=None, description="Tokens generated per run, over all generations."
    )
    timeout: float | None = Field(default=None, gt=0, description="Seconds of wall clock per run.")
    tool_timeout: float | None = Field(
        default=_agent_default("tool_timeout"), gt=0, description="Seconds per tool call."
    )
    max_model_errors: int = Field(
        default=_agent_default("max_model_errors"),
        ge=0,
        description="Failed tool calls or unusable outputs before the run stops.",
    )
    max_output_retries: int = Field(
        default=_agent_default("max_output_retries"),
        ge=0,
        description="Times an answer that does not match `output_type` goes back to the model.",
    )
    context_window: PositiveInt | None = Field(
        default=None, description="Context window in tokens; None: the engine's."
    )
    reserve_tokens: PositiveInt = Field(
        default=_agent_default("reserve_tokens"),
        description="Tokens kept free to generate; older tool results are elided to keep them.",
    )
    max_tool_output_tokens: PositiveInt = Field(
        default=_agent_default("max_tool_output_tokens"),
        description="Tokens of one tool result the model reads; longer ones are cut.",
    )


class SamplingConfig(BaseModel):
    """How tokens are picked; temperature 0 is greedy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(default=1.0, ge=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    top_k: PositiveInt | None = None
    seed: int | None = None


class ToolsConfig(BaseModel):
    """What the model may call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    python: SandboxConfig | None = Field(
        default=None,
        description="Stateful Python in a sandboxed Jupyter kernel, one per run; absent: none.",
    )
    browser: BrowserConfig | None = Field(
        default=None, description="The browser tool (search, open, find); absent: no browser."
    )
    functions: list[FunctionConfig] = Field(
        default_factory=list,
        description="Developer functions, each `package.module:callable` or a mapping.",
    )
    mcp: list[MCPServerConfig] = Field(
        default_factory=list,
        description="MCP servers whose tools the model may call: each with `command` (a process "
        "spoken to over stdio) or `url` (streamable HTTP).",
    )

    @field_validator("mcp")
    @classmethod
    def _unique_servers(cls, servers: list[MCPServerConfig]) -> list[MCPServerConfig]:
        check_unique_names(servers)
        return servers


class OutputConfig(BaseModel):
    """What a run records and shows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trace: Path | None = Field(
        default=None, description="Write a JSONL trace of every run to this file (appended)."
    )
    show_reasoning: bool = Field(default=True, description="Show the model's reasoning.")
    redact: list[str] = Field(
        default_factory=list,
        description="Extra strings to hide in traces (API keys and ${...KEY/TOKEN/SECRET} "
        "values are hidden anyway).",
    )


class AgentConfig(BaseModel):
    """One agent run: the engine, the instructions, the tools, the limits, the output.

    Load it with `load_config(path)`; `agent()` builds the `Agent`, and `open()` builds it
    with its engine started (closed when the block ends).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: EngineConfig = Field(
        default_factory=DefaultEngineConfig,
        description="Where tokens come from; `kind`: default, vllm, http or scripted.",
    )
    reasoning: Literal["low", "medium", "high"] = Field(
        default=_agent_default("reasoning"), description="Reasoning effort."
    )
    identity: str = Field(
        default=_agent_default("identity"), description="Who the system message says the model is."
    )
    knowledge_cutoff: str = Field(
        default=_agent_default("knowledge_cutoff"),
        description="The knowledge cutoff the system message states (YYYY-MM).",
    )
    instructions: str | None = Field(default=None, description="The developer instructions.")
    instructions_file: Path | None = Field(
        default=None, description="A text file holding the instructions instead."
    )
    tool_choice: str = Field(
        default=_agent_default("tool_choice"),
        description="auto, required, none, or the name of a function to call first.",
    )
    output_type: dict[str, Any] | str | None = Field(
        default=None,
        description="What the final answer must match: a JSON Schema inline, or the import path "
        "(`package.module:Name`) of a pydantic model or a JSON Schema dict.",
    )
    constrain_output: bool = Field(
        default=_agent_default("constrain_output"),
        description="Write the final answer under `output_type` with the engine's guided "
        "decoding (vllm engines need `structured_outputs: true`; the default engine has it).",
    )
    current_date: str | None = Field(
        default=None, description="YYYY-MM-DD shown to the model; default: today."
    )
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    @model_validator(mode="after")
    def _one_instructions(self) -> AgentConfig:
        if self.instructions is not None and self.instructions_file is not None:
            raise ValueError("give `instructions` or `instructions_file`, not both")
        return self

    @model_validator(mode="after")
    def _constrainable_output(self) -> AgentConfig:
        if self.constrain_output and self.output_type is None:
            raise ValueError("constrain_output needs an output_type to constrain the answer to")
        if (
            self.constrain_output
            and isinstance(self.engine, VLLMEngineConfig)
            and not self.engine.structured_outputs
        ):
            raise ValueError("constrain_output needs `structured_outputs: true` in the vllm engine")
        return self

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _secrets: tuple[str, ...] = PrivateAttr(default=())

    @property
    def base_dir(self) -> Path:
        """The directory relative paths and function modules are found in."""
        return self._base_dir

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings a trace must not show: secret `${ENV}` values (names with KEY, TOKEN,
        SECRET, PASSWORD...), the engine's API key, `output.redact`.
        """
        found = list(self._secrets) + list(self.output.redact)
        if isinstance(self.engine, HTTPEngineConfig) and self.engine.api_key is not None:
            found.append(self.engine.api_key.get_secret_value())
        for server in self.tools.mcp:
            if isinstance(server, MCPHTTPServer):
                found += server.headers.values()
        return tuple(sorted({s for s in found if s}, key=len, reverse=True))

    def with_source(self, base_dir: Path, secrets: tuple[str, ...]) -> AgentConfig:
        """This config, knowing where its file is and which values are secret."""
        config = self.model_copy()
        config._base_dir = base_dir
        config._secrets = secrets
        return config

    def functions(self) -> list[FunctionTool]:
        """Imports and builds the developer functions; raises `ConfigError`."""
        return [function.build(self.base_dir) for function in self.tools.functions]

    def resolved_output_type(self) -> OutputType | None:
        """The structured answer `output_type` asks for, imported if it is a path; raises
        `ConfigError`.
        """
        if not isinstance(self.output_type, str):
            return self.output_type
        target = import_object(self.output_type, self.base_dir)
        if isinstance(target, type) and issubclass(target, BaseModel):
            return target
        if isinstance(target, dict):
            return target
        raise ConfigError(
            f"{self.output_type} is neither a pydantic model nor a JSON Schema dict "
            f"(type {type(target).__name__})"
        )

    def builtins(self) -> list[BuiltinTool]:
        """The built-in tools configured."""
        tools: list[BuiltinTool] = []
        if self.tools.python is not None:
            tools.append(PythonTool(self.tools.python))
        if self.tools.browser is not None:
            # Views sized in the model's own tokens, not an estimate.
            tools.append(Browser(self.tools.browser, count_tokens=_harmony.count_tokens))
        return tools

    def build_engine(self) -> Engine:
        """The engine, not started."""
        return build_engine(self.engine)

    def agent(self, engine: Engine | None = None, *, mcp: MCPToolset | None = None) -> Agent:
        """The `Agent` this config describes, on `engine` or a new one built from `engine:`,
        with the tools of `mcp`, the open toolset of `tools.mcp` (`open()` opens it).

        Every key sets the `Agent` parameter of the same name (`limits:` groups some).
        """
        if self.tools.mcp and mcp is None:
            raise ConfigError("tools.mcp needs its servers connected: use `open()`")
        return Agent(
            engine=engine if engine is not None else self.build_engine(),
            instructions=self.read_instructions(),
            tools=[*self.builtins(), *self.functions(), *([mcp] if mcp is not None else [])],
            reasoning=self.reasoning,
            identity=self.identity,
            knowledge_cutoff=self.knowledge_cutoff,
            current_date=self.current_date,
            output_type=self.resolved_output_type(),
            constrain_output=self.constrain_output,
            tool_choice=self.tool_choice,
            sampling=SamplingParams(**self.sampling.model_dump()),
            **self.limits.model_dump(),
        )

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Agent]:
        """The agent with its MCP servers connected (first: they fail fast) and its engine
        started; both are closed when the block ends.
        """
        async with contextlib.AsyncExitStack() as stack:
            mcp = None
            if self.tools.mcp:
                mcp = await stack.enter_async_context(MCPToolset(self.tools.mcp))
            # Building the default engine may train the tiny checkpoint first: not on the loop.
            engine = await asyncio.to_thread(self.build_engine)
            enter = getattr(engine, "__aenter__", None)
            if enter is not None:
                await enter()
            stack.push_async_callback(engine.aclose)
            yield self.agent(engine, mcp=mcp)

    def read_instructions(self) -> str | None:
        """The instructions, read from `instructions_file` if given; raises `ConfigError`."""
        if self.instructions_file is None:
            return self.instructions
        return read_text_file(self.instructions_file)
