"""Kernels forked from a pool's template process: isolated from each other and the host."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from harmony_agent.sandbox import Kernel, KernelPool, Sandbox, check_isolation
from harmony_agent.sandbox._sandbox import POOL_HINT_AFTER, _StartsWithoutPool
from harmony_agent.sandbox._template import KernelTemplate

from .kernels import FAST, cgroups_here

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[KernelPool]:
    async with KernelPool(FAST, size=2, fork=True) as pool:
        assert pool.fork, "this host supports forking kernels"
        yield pool


async def test_forked_kernels_do_not_see_each_other(pool: KernelPool) -> None:
    async with Sandbox(pool=pool) as first, Sandbox(pool=pool) as second:
        await first.execute("open('mine.txt', 'w').write('first')\nsecret = 1")
        listing = await second.execute(  # its processes: its pid 1 (a shell), its subshell, itself
            "import os\n(os.listdir('.'), os.listdir('/sandbox'), sorted(open(f'/proc/{p}/comm')"
            ".read().strip() for p in os.listdir('/proc') if p.isdigit() and int(p) != "
            "os.getpid()), 'secret' in globals())"
        )
        assert listing.result == "([], [], ['sh', 'sh'], False)"
        assert (first.workdir / "mine.txt").exists()
        assert not (second.workdir / "mine.txt").exists()


async def test_forked_kernel_is_fresh_and_imports_what_the_template_left_out(
    pool: KernelPool,
) -> None:
    async with Sandbox(pool=pool) as sandbox:
        result = await sandbox.execute(
            "import debugpy, jedi\n(get_ipython().execution_count, len(In), len(Out))"
        )
        assert result.result == "(2, 2, 0)", result.error  # as in a kernel started anew


async def test_each_cell_is_transformed_once(pool: KernelPool) -> None:
    """ipykernel transforms a cell, then IPython again to run it (a cost that grows with the
    cell); a forked kernel's shell does it once, the same for the same cell.
    """
    async with Sandbox(pool=pool) as sandbox:
        await sandbox.execute(
            "seen = []\ndef count(lines):\n    seen.append(len(lines))\n    return lines\n"
            "get_ipython().input_transformers_post.append(count)"
        )
        await sandbox.execute("x = 1")
        for cell in ("x", "x"):  # the same text again: transformed again
            assert (await sandbox.execute(cell)).result == "1"
        assert (await sandbox.execute("len(seen)")).result == "4"  # x = 1, x, x, len(seen)


async def test_forked_kernel_restarts_by_forking_again(pool: KernelPool) -> None:
    async with Sandbox(pool=pool) as sandbox:
        await sandbox.execute("x = 1")
        died = await sandbox.execute("import os\nos._exit(5)")
        assert died.died == "exited with status 5" and died.restarted
        after = await sandbox.execute("import os\n(os.getuid(), 'x' in globals())")
        assert after.result == "(65534, False)"


async def test_fork_bomb_in_a_forked_kernel_is_capped(pool: KernelPool) -> None:
    bomb = (
        "import os, time\nforks = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            time.sleep(60)\n            os._exit(0)\n        forks += 1\n"
        "except OSError as error:\n    print(forks, type(error).__name__)"
    )
    async with Sandbox(pool=pool) as sandbox:
        forks, error = (await sandbox.execute(bomb)).stdout.split()
        assert int(forks) < FAST.max_processes and error == "BlockingIOError"
        cgroup = sandbox.kernel.cgroup
        if not cgroups_here():  # the process count of its own user namespace capped it
            return
        assert cgroup is not None
    assert cgroup.pids() == []


async def test_a_cancelled_fork_does_not_confuse_the_next() -> None:
    report = check_isolation(FAST)
    template = await KernelTemplate.start(FAST)
    try:
        for delay in (0.0, 0.001, 0.01):
            starting = asyncio.create_task(Kernel.start(FAST, report, template=template))
            await asyncio.sleep(delay)
            starting.cancel()
            try:
                kernel = await starting
            except asyncio.CancelledError:
                continue
            await kernel.aclose()  # it finished before the cancel arrived
        kernel = await Kernel.start(FAST, report, template=template)
        try:
            assert (await kernel.execute("import os\nos.getuid()")).result == "65534"
        finally:
            await kernel.aclose()
    finally:
        await template.aclose()


async def test_a_pool_is_suggested_once_to_many_sandboxes_without_one(
    pool: KernelPool, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_StartsWithoutPool, "count", 0)
    monkeypatch.setattr(_StartsWithoutPool, "hinted", False)
    with caplog.at_level(logging.WARNING, logger="harmony_agent.sandbox"):
        for _ in range(POOL_HINT_AFTER - 1):
            async with Sandbox(FAST):
                pass
        async with Sandbox(pool=pool):  # a pool's sandbox is what the hint asks for
            pass
        assert not [r for r in caplog.records if "KernelPool" in r.getMessage()]
        for _ in range(2):
            async with Sandbox(FAST):
                pass
    (hint,) = [r.getMessage() for r in caplog.records if "KernelPool" in r.getMessage()]
    assert hint.startswith(f"{POOL_HINT_AFTER} sandboxes in this process")
