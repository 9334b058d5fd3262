"""A configuration mistake in any public constructor raises `ConfigError` (which is also a
`ValueError`), from the agent's layer down to the sandbox's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from harmony_agent import Agent, ConfigError
from harmony_agent.batch import BatchRunner, ResultsFile
from harmony_agent.engines import ScriptedEngine
from harmony_agent.sandbox import KernelPool, Sandbox, SandboxConfig
from harmony_agent.tools.python import PythonTool

POOL = KernelPool(SandboxConfig(), size=1)
"""Never started: the constructors check their settings before they use it."""
OTHER = SandboxConfig(memory_mb=1024)

MISTAKES: dict[str, tuple[Callable[[], object], str]] = {
    "kernel pool of size 0": (lambda: KernelPool(size=0), "size >= 1"),
    "sandbox config unlike its pool's": (
        lambda: Sandbox(OTHER, pool=POOL),
        "differs from the pool's config",
    ),
    "python tool config unlike its pool's": (
        lambda: PythonTool(OTHER, pool=POOL),
        "differs from the pool's config",
    ),
    "batch concurrency 0": (
        lambda: BatchRunner(
            Agent(engine=ScriptedEngine([])), ResultsFile(Path("unused")), concurrency=0
        ),
        "concurrency must be at least 1",
    ),
    "agent max_turns 0": (
        lambda: Agent(engine=ScriptedEngine([]), max_turns=0),
        "max_turns must be at least 1",
    ),
}


@pytest.mark.parametrize(("make", "message"), MISTAKES.values(), ids=MISTAKES.keys())
def test_a_configuration_mistake_raises_config_error(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        make()
