"""Escape attempts from inside the sandbox: each must be contained and the host unharmed."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from harmony_agent.sandbox import Sandbox, check_isolation
from harmony_agent.sandbox._kernel import remove_orphans

from .kernels import (
    FAST,
    KINDS,
    assert_every_layer_this_user_can_have,
    cgroups_here,
    needs_cgroup,
    open_sandbox,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=KINDS)
async def jail(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A kernel started on its own, and one forked from a pool's template process."""
    async with open_sandbox(request.param) as sandbox:
        yield sandbox


async def test_every_layer_is_active_on_this_host() -> None:
    assert_every_layer_this_user_can_have(check_isolation(FAST))


async def raises(sandbox: Sandbox, code: str, *errors: str) -> str:
    """Runs `code`, which must raise one of `errors`; returns the error text."""
    result = await sandbox.execute(code)
    assert result.error is not None, (result.stdout, result.result)
    assert any(error in result.error for error in errors), result.error
    return result.error


async def test_memory_bomb_gets_memory_error_and_the_kernel_lives(jail: Sandbox) -> None:
    await raises(jail, "x = bytearray(8 * 1024**3)", "MemoryError")
    await raises(
        jail,
        "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 2**20))",
        "MemoryError",
    )
    after = await jail.execute("del chunks\n'alive'")
    assert after.result == "'alive'" and not after.restarted


async def test_huge_file_is_cut_at_the_size_limit(jail: Sandbox) -> None:
    await raises(
        jail,
        "with open('big', 'wb') as f:\n    for _ in range(1024):\n        f.write(bytes(2**20))",
        "File too large",
    )
    assert (jail.workdir / "big").stat().st_size <= FAST.max_file_mb << 20
    await jail.execute("import os\nos.remove('big')")


async def test_runaway_cpu_is_stopped_and_capped(jail: Sandbox) -> None:
    result = await jail.execute("while True:\n    pass", timeout=1.0)
    assert result.timed_out and not result.restarted
    limit = await jail.execute("import resource\nresource.getrlimit(resource.RLIMIT_CPU)")
    assert limit.result == f"({FAST.cpu_seconds}, {FAST.cpu_seconds})"


async def test_loop_ignoring_sigint_is_killed(jail: Sandbox) -> None:
    result = await jail.execute(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        timeout=1.0,
    )
    assert result.timed_out and result.restarted
    assert (await jail.execute("1 + 1")).result == "2"


async def test_fork_bomb_is_capped() -> None:
    bomb = (
        "import os, time\nforks = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            time.sleep(60)\n            os._exit(0)\n        forks += 1\n"
        "except OSError as error:\n    print(forks, type(error).__name__)"
    )
    async with Sandbox(FAST) as sandbox:
        result = await sandbox.execute(bomb)
        forks, error = result.stdout.split()
        assert int(forks) < FAST.max_processes
        assert error == "BlockingIOError"
        cgroup = sandbox.kernel.cgroup
        if not cgroups_here():  # the process count of its own user namespace capped it
            return
        assert cgroup is not None and len(cgroup.pids()) <= FAST.max_processes
    assert cgroup.pids() == []  # closing killed every process of the tree


_ORPHAN = """
import asyncio, json, os, sys
from harmony_agent.sandbox import KernelPool, Sandbox, SandboxConfig

async def main(fork):
    config = SandboxConfig(cell_timeout_s=5)
    pool = KernelPool(config, size=1, fork=True) if fork else None
    sandbox = Sandbox(config, pool=pool)
    await sandbox.start()
    await sandbox.execute("import subprocess; subprocess.Popen(['sleep', '600'])")
    kernel = sandbox.kernel
    procs = [str(p) for p in kernel.cgroup.procs_files] if kernel.cgroup else []
    print(json.dumps({"pids": tree(kernel.pid), "procs": procs, "root": str(kernel.root)}),
          flush=True)
    await asyncio.sleep(600)

def tree(pid):
    # the wrapper and its descendants, or a forked kernel's pid 1 and its pid namespace
    found = [pid, *descendants(pid)]
    namespace = os.readlink(f"/proc/{pid}/ns/pid")
    if namespace != os.readlink("/proc/self/ns/pid"):
        found += [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in found
                  and in_namespace(p, namespace)]
    return found

def in_namespace(pid, namespace):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid") == namespace
    except OSError:  # gone, or not ours to inspect
        return False

def descendants(pid):
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        for child in open(f"/proc/{pid}/task/{task}/children").read().split():
            found += [int(child), *descendants(int(child))]
    return found

asyncio.run(main(sys.argv[1] == "fork"))
"""


def running_with(text: str) -> list[int]:
    """Pids of processes whose command line mentions `text`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text in (proc / "cmdline").read_text(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("mode", ["start", "fork"])
async def test_killing_the_parent_leaves_no_kernel_behind(mode: str) -> None:
    """The kernel's processes (a `sleep` it started among them) end with the process that
    owns the sandbox, found by their pids and, where there is one, by the kernel's cgroup.
    """
    parent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _ORPHAN, mode, stdout=subprocess.PIPE
    )
    assert parent.stdout is not None
    line = await asyncio.wait_for(parent.stdout.readline(), 60)
    info = json.loads(line)
    pids, procs = info["pids"], [Path(p) for p in info["procs"]]
    assert len(pids) >= 3 and _alive(pids) == pids  # a wrapper or pid 1, the kernel, sleep
    assert cgroups_here() == any(p.read_text().split() for p in procs)
    parent.send_signal(signal.SIGKILL)
    await parent.wait()
    # the wrappers (bubblewrap, a kernel template) go too: their command lines name the root
    marker = str(Path(info["root"]).parent.parent if mode == "fork" else Path(info["root"]))
    for _ in range(100):
        if not _alive(pids) and not running_with(marker):
            break
        await asyncio.sleep(0.05)
    assert _alive(pids) == []
    assert [p.read_text().split() for p in procs] == [[] for _ in procs]
    assert await asyncio.to_thread(running_with, marker) == []
    # what a killed parent could not clean up goes with the next process's first kernel
    await asyncio.to_thread(remove_orphans.__wrapped__)
    assert not any(p.parent.exists() for p in procs)
    assert not await asyncio.to_thread(Path(info["root"]).exists)


def _alive(pids: list[int]) -> list[int]:
    """Those of `pids` that still run (a zombie has ended)."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


@needs_cgroup
async def test_memory_of_the_whole_process_tree_is_capped(jail: Sandbox) -> None:
    hog = "b = bytearray(200 * 2**20)\\nfor i in range(0, len(b), 4096): b[i] = 1\\nimport time; time.sleep(1)"
    result = await jail.execute(
        f"import subprocess, sys\nhog = '{hog}'\n"
        "procs = [subprocess.Popen([sys.executable, '-c', hog]) for _ in range(4)]\n"
        "print(*[p.wait() for p in procs])",
        timeout=30,
    )
    codes = result.stdout.split()
    assert len(codes) == 4 and "-9" in codes  # 800 MB asked for under a 512 MB cap: OOM kills
    assert not result.restarted and (await jail.execute("'alive'")).result == "'alive'"
