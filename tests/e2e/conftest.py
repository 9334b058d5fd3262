"""One tiny gpt-oss checkpoint and one in-process vLLM engine for the whole test session.

The checkpoint is the one the package ships (what the CLI runs), unpacked into the user's cache
directory on first use; `test_training` trains one from runs of the agent loop (minutes on a
CPU, cached by its recipe's fingerprint).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from harmony_agent.engines import VLLMEngine
from harmony_agent.tiny import TinyCheckpoint, build_checkpoint, tiny_engine_settings
from harmony_agent.tools import BuiltinTool

from tests.e2e.processes import child_processes, processes_left
from tests.e2e.tools import python_tool as make_python_tool
from tests.e2e.vllm_server import VLLMServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Runs the end-to-end tests that start a `vllm serve` process before the others (stable
    otherwise): vLLM on the CPU binds every engine's worker to the same first core, and the
    session's in-process engine, once started, starves a server started after it (its metrics
    and tokens stall).
    """
    slots = [i for i, item in enumerate(items) if item.nodeid.startswith("tests/e2e/")]
    ordered = sorted(
        (items[i] for i in slots),
        key=lambda item: "vllm_server" not in getattr(item, "fixturenames", ()),
    )
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item


@pytest.fixture(scope="session")
def python_tool() -> BuiltinTool:
    """The python tool every tiny-checkpoint agent of the session shows the model."""
    return make_python_tool()


@pytest.fixture(scope="session")
def tiny(python_tool: BuiltinTool) -> TinyCheckpoint:
    """The tiny checkpoint for `python_tool`'s namespace: the shipped one."""
    return build_checkpoint(python=python_tool.namespace)


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny: TinyCheckpoint) -> Path:
    """The tiny checkpoint's directory."""
    return tiny.path


@pytest.fixture(scope="session")
def vllm_server(tiny_checkpoint: Path) -> Iterator[VLLMServer]:
    """One `vllm serve` of the tiny checkpoint for the session's HTTP tests."""
    with VLLMServer(tiny_checkpoint) as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def vllm_engine(tiny_checkpoint: Path) -> AsyncIterator[VLLMEngine]:
    """One in-process vLLM engine on the tiny checkpoint, shared by the session's tests.

    Closing it must end every process it started.
    """
    before = child_processes()
    async with VLLMEngine(tiny_engine_settings(tiny_checkpoint)) as engine:
        yield engine
    leaked = processes_left(before)
    assert not leaked, f"the engine left processes behind: {leaked}"
