"""Real sandboxed kernels, shared per module where a test does not depend on fresh state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from harmony_agent.sandbox import Sandbox, SandboxConfig

FAST = SandboxConfig(
    cell_timeout_s=2.0,
    interrupt_grace_s=1.0,
    memory_mb=512,
    max_processes=64,
    max_file_mb=64,
    output_chars=1000,
)
"""Small limits and short timeouts: every test here finishes in seconds."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(FAST) as sandbox:
        yield sandbox
