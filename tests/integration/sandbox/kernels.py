"""Real sandboxed kernels for the tests: small limits, and both ways a kernel comes to be."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from harmony_agent.sandbox import KernelPool, Sandbox, SandboxConfig

FAST = SandboxConfig(
    cell_timeout_s=2.0,
    interrupt_grace_s=1.0,
    memory_mb=512,
    max_processes=64,
    max_file_mb=64,
    output_chars=1000,
)
"""Small limits and short timeouts: every test here finishes in seconds."""


KINDS = ["started", "forked"]
"""The two ways a kernel comes to be; fixtures over real kernels run their tests on both."""


@contextlib.asynccontextmanager
async def open_sandbox(kind: str, config: SandboxConfig = FAST) -> AsyncIterator[Sandbox]:
    """A kernel `started` on its own, or `forked` from a pool's template process."""
    if kind == "forked":
        async with KernelPool(config, size=1, fork=True) as pool, Sandbox(pool=pool) as sandbox:
            yield sandbox
    else:
        async with Sandbox(config) as sandbox:
            yield sandbox
