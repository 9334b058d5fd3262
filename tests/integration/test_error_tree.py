"""One error tree: every public error reaches the caller of `Agent.run` as its own class (a tool
that cannot start as `ToolUnavailable`, with the sandbox's error chained), and the CLI exits
with the code that class means.

Each case is a real failure where one can be made here: a kernel's Python without ipykernel,
a closed kernel pool, a refused connection, a missing checkpoint, a script that ran out, an
answer that breaks the output type, a search backend without its key. Where YAML can say the
same thing, the console script runs it too.
"""

from __future__ import annotations

import inspect
import io
import socket
import venv
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harmony_agent
import harmony_agent.sandbox
import pytest
import typer
from harmony_agent import (
    Agent,
    ConfigError,
    EngineError,
    EngineOutOfMemory,
    EngineUnavailable,
    HarmonyAgentError,
    InvalidEngineOutput,
    ModelNotFound,
    OutputValidationError,
    ScriptExhausted,
    ToolError,
    ToolUnavailable,
)
from harmony_agent._harmony import encode_completion, vocabulary_size
from harmony_agent._redact import Redactor
from harmony_agent.cli import ExitCode
from harmony_agent.cli._exit import reports_errors
from harmony_agent.engines import (
    HTTPEngine,
    HTTPSettings,
    SamplingParams,
    ScriptedEngine,
    TokenChunk,
    VLLMEngine,
    VLLMSettings,
)
from harmony_agent.sandbox import (
    IsolationUnavailable,
    KernelPool,
    KernelStartError,
    SandboxClosed,
    SandboxConfig,
    SandboxError,
)
from harmony_agent.tools.browser import BraveConfig, Browser, BrowserConfig
from harmony_agent.tools.python import PythonTool
from rich.console import Console

from tests.console import run_cli

NO_KEY = "HARMONY_AGENT_TEST_UNSET_KEY"
"""An environment variable no one sets: the search backend's key is missing."""

PYTHON_CALL = "<|channel|>analysis to=python code<|message|>print(1)<|call|>"
SEARCH_CALL = '<|channel|>analysis to=browser.search<|message|>{"query": "harmony"}<|call|>'
NOT_JSON = "<|channel|>final<|message|>Sunny.<|return|>"


@dataclass(frozen=True)
class Host:
    """What the failures need: a Python without ipykernel, an address that refuses
    connections, a checkpoint directory that does not exist.
    """

    python: Path
    refused_url: str
    missing_model: Path


@dataclass(frozen=True)
class Case:
    """A failure made in Python and, where YAML can say it, as a config.

    `error` is what `Agent.run` raises and `cause` the error chained to it (the sandbox's,
    for a tool that cannot start); the CLI exits with `exit_code`, its message after `label`.
    """

    error: type[HarmonyAgentError]
    cause: type[HarmonyAgentError] | None
    exit_code: ExitCode
    label: str
    agent: Callable[[Host], Awaitable[Agent]]
    yaml: Callable[[Host], str] | None = None


def scripted(*completions: str | Sequence[int], **settings: Any) -> Agent:
    return Agent(engine=ScriptedEngine(list(completions)), current_date="2026-01-05", **settings)


class OutOfMemoryEngine(ScriptedEngine):
    """Fails as `VLLMEngine` does when the weights or the KV cache do not fit (which needs
    a GPU's worth of model to happen for real)."""

    async def generate(
        self,
        prompt_tokens: Sequence[int],
        *,
        stop_token_ids: Sequence[int],
        max_tokens: int,
        sampling: SamplingParams,
    ) -> AsyncGenerator[TokenChunk, None]:
        raise EngineOutOfMemory("the KV cache needs 8.0 GiB, 2.0 GiB are free")
        yield TokenChunk(())  # pragma: no cover - makes this an async generator


async def without_search_key(host: Host) -> Agent:
    search = BraveConfig(api_key_env=NO_KEY)
    return scripted(SEARCH_CALL, tools=[Browser(BrowserConfig(search=search))])


async def closed_http_engine(host: Host) -> Agent:
    engine = HTTPEngine(HTTPSettings(base_urls=[host.refused_url], model="m"))
    await engine.aclose()
    return Agent(engine=engine)


async def refused_connection(host: Host) -> Agent:
    settings = HTTPSettings(base_urls=[host.refused_url], model="m", max_retries=0)
    return Agent(engine=HTTPEngine(settings))


async def missing_checkpoint(host: Host) -> Agent:
    return Agent(engine=VLLMEngine(VLLMSettings(model=str(host.missing_model))))


async def out_of_memory(host: Host) -> Agent:
    return Agent(engine=OutOfMemoryEngine([]))


async def token_outside_the_vocabulary(host: Host) -> Agent:
    return scripted([*encode_completion("<|channel|>final<|message|>"), vocabulary_size()])


async def script_ran_out(host: Host) -> Agent:
    return scripted()


async def invalid_structured_answer(host: Host) -> Agent:
    return scripted(NOT_JSON, output_type={"type": "object"}, max_output_retries=0)


async def kernel_without_ipykernel(host: Host) -> Agent:
    return scripted(PYTHON_CALL, tools=[PythonTool(SandboxConfig(python=host.python))])


async def isolation_required(host: Host) -> Agent:
    config = SandboxConfig(python=host.python, require_isolation=True)
    return scripted(PYTHON_CALL, tools=[PythonTool(config)])


async def closed_pool(host: Host) -> Agent:
    pool = KernelPool(SandboxConfig(), size=1)
    await pool.aclose()
    return scripted(PYTHON_CALL, tools=[PythonTool(pool=pool)])


def script(*completions: str) -> str:
    lines = "".join(f"    - {c!r}\n" for c in completions)
    return f"engine:\n  kind: scripted\n  script:\n{lines}" if lines else ""


CASES = {
    "config error when a tool starts": Case(
        ConfigError,
        None,
        ExitCode.USAGE,
        "error",
        without_search_key,
        lambda host: (
            script(SEARCH_CALL)
            + f"tools:\n  browser:\n    search:\n      kind: brave\n      api_key_env: {NO_KEY}\n"
        ),
    ),
    "engine closed": Case(EngineError, None, ExitCode.ENGINE, "engine error", closed_http_engine),
    "engine unreachable": Case(
        EngineUnavailable,
        None,
        ExitCode.ENGINE,
        "engine error",
        refused_connection,
        lambda host: (
            f"engine:\n  kind: http\n  base_urls: {host.refused_url}\n  model: m\n"
            "  max_retries: 0\n"
        ),
    ),
    "model not found": Case(
        ModelNotFound,
        None,
        ExitCode.ENGINE,
        "engine error",
        missing_checkpoint,
        lambda host: f"engine:\n  kind: vllm\n  model: {host.missing_model}\n",
    ),
    "engine out of memory": Case(
        EngineOutOfMemory, None, ExitCode.ENGINE, "engine error", out_of_memory
    ),
    "token outside the vocabulary": Case(
        InvalidEngineOutput, None, ExitCode.ENGINE, "engine error", token_outside_the_vocabulary
    ),
    "script ran out": Case(
        ScriptExhausted,
        None,
        ExitCode.ENGINE,
        "engine error",
        script_ran_out,
        lambda host: "engine:\n  kind: scripted\n  script: []\n",
    ),
    "invalid structured answer": Case(
        OutputValidationError,
        None,
        ExitCode.INCOMPLETE,
        "no answer",
        invalid_structured_answer,
        lambda host: (
            script(NOT_JSON) + "output_type: {type: object}\nlimits:\n  max_output_retries: 0\n"
        ),
    ),
    "kernel did not start": Case(
        ToolUnavailable,
        KernelStartError,
        ExitCode.TOOL,
        "tool unavailable",
        kernel_without_ipykernel,
        lambda host: script(PYTHON_CALL) + f"tools:\n  python:\n    python: {host.python}\n",
    ),
    "isolation required": Case(
        ToolUnavailable,
        IsolationUnavailable,
        ExitCode.TOOL,
        "tool unavailable",
        isolation_required,
        lambda host: (
            script(PYTHON_CALL)
            + f"tools:\n  python:\n    python: {host.python}\n    require_isolation: true\n"
        ),
    ),
    "kernel pool closed": Case(
        ToolUnavailable, SandboxClosed, ExitCode.TOOL, "tool unavailable", closed_pool
    ),
}

NEVER_RAISED = {HarmonyAgentError, SandboxError}
"""Bases that only group the tree: what is raised is always one of their subclasses."""


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    directory = tmp_path_factory.mktemp("host")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(directory / "venv")
    with socket.socket() as bound:  # bound, never listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        yield Host(
            python=directory / "venv" / "bin" / "python",
            refused_url=f"http://127.0.0.1:{port}/v1",
            missing_model=directory / "no-checkpoint",
        )


def public_errors() -> set[type[BaseException]]:
    """The exception classes harmony-agent and its sandbox export."""
    names = [(harmony_agent, n) for n in harmony_agent.__all__] + [
        (harmony_agent.sandbox, n) for n in harmony_agent.sandbox.__all__
    ]
    found = {getattr(module, name) for module, name in names}
    return {c for c in found if inspect.isclass(c) and issubclass(c, BaseException)}


def test_every_public_error_is_in_the_tree_and_has_a_case() -> None:
    errors = public_errors() - {ToolError}  # ToolError is what a tool sends the model
    assert {e for e in errors if not issubclass(e, HarmonyAgentError)} == set()
    covered = {c.error for c in CASES.values()} | {c.cause for c in CASES.values()}
    assert errors - NEVER_RAISED == covered - {None}


def exit_of(error: BaseException) -> tuple[int, str]:
    """The exit code and the message the CLI gives for `error`."""
    output = io.StringIO()

    @reports_errors(Console(file=output, width=200), lambda: False, lambda: Redactor(()))
    def command() -> None:
        raise error

    with pytest.raises(typer.Exit) as caught:
        command()
    return caught.value.exit_code, output.getvalue()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_a_run_raises_the_error_and_the_cli_exits_with_its_code(
    case: Case, host: Host
) -> None:
    agent = await case.agent(host)
    with pytest.raises(HarmonyAgentError) as caught:
        await agent.arun("What is the weather?")
    error = caught.value
    assert type(error) is case.error
    if case.cause is not None:
        assert type(error.__cause__) is case.cause
    if isinstance(error, ToolUnavailable):
        assert error.tool in str(error)
    code, message = exit_of(error)
    assert code == case.exit_code
    assert message.startswith(f"{case.label}: ")


WITH_YAML = {name: case for name, case in CASES.items() if case.yaml is not None}


@pytest.mark.parametrize("case", WITH_YAML.values(), ids=WITH_YAML.keys())
def test_the_console_script_exits_with_the_code_of_the_error(
    case: Case, host: Host, tmp_path: Path
) -> None:
    assert case.yaml is not None
    config = tmp_path / "agent.yaml"
    config.write_text(case.yaml(host), encoding="utf-8")
    done = run_cli("run", config, "What is the weather?")
    assert done.returncode == case.exit_code, done.stderr
    assert f"{case.label}: " in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("python", ["/nonexistent/python", "/bin/false"])
def test_a_kernel_python_that_cannot_run_is_a_config_error(python: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"python: {python} cannot run"):
        PythonTool(SandboxConfig(python=Path(python)))
    config = tmp_path / "agent.yaml"
    config.write_text(script(PYTHON_CALL) + f"tools:\n  python:\n    python: {python}\n")
    done = run_cli("run", config, "What is the weather?")
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert f"error: python: {python} cannot run" in done.stderr
