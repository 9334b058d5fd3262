"""Real sandboxed kernels, shared per module where a test does not depend on fresh state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from harmony_agent.sandbox import Sandbox

from .kernels import KINDS, open_sandbox


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=KINDS)
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A kernel started on its own, and one forked from a pool's template process."""
    async with open_sandbox(request.param) as sandbox:
        yield sandbox
