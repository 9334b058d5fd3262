"""Escape attempts from a one-shot program: each must be contained and the host unharmed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from harmony_agent.sandbox import ProgramResult, ProgramRunner
from harmony_agent.sandbox._kernel import remove_orphans
from harmony_agent.sandbox._template import memory_directory

from .kernels import FAST, assert_every_layer_this_user_can_have, descendants, needs_cgroup
from .test_escape import _alive, running_with

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runner() -> AsyncIterator[ProgramRunner]:
    async with ProgramRunner(FAST) as runner:
        yield runner


async def raises(runner: ProgramRunner, code: str, *errors: str) -> ProgramResult:
    """Runs `code`, which must fail with one of `errors`."""
    result = await runner.run(code)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert any(error in result.stderr for error in errors), result.stderr
    return result


async def test_every_layer_is_active(runner: ProgramRunner) -> None:
    assert_every_layer_this_user_can_have(runner.report)
    result = await runner.run(
        "import os\nstatus = open('/proc/self/status').read()\n"
        "print(os.getuid(), os.getgid(), [l.split()[1] for l in status.splitlines()"
        " if l.startswith(('CapEff', 'CapBnd', 'NoNewPrivs'))])"
    )
    assert result.stdout == "65534 65534 ['0000000000000000', '0000000000000000', '1']\n"


async def test_other_tasks_and_the_host_directory_are_out_of_sight(runner: ProgramRunner) -> None:
    """One program keeps a file open while another looks everywhere it could be: the other
    programs' directories (and every program's own host directory) are hidden.
    """
    marker = f"marker-{uuid.uuid4().hex}"
    holder = runner.run(
        f"open({marker!r}, 'w').write('mine')\nimport time\ntime.sleep(1.5)", timeout_s=5
    )
    seeker = runner.run(
        "import os, time\ntime.sleep(0.5)\nfound = []\n"
        "for top in ('/sandbox', '/tmp', '/mnt', '/run', '/proc'):\n"
        "    for root, dirs, files in os.walk(top, onerror=lambda e: None):\n"
        "        if root.startswith('/proc/') and not root[6:7].isdigit():\n"
        "            dirs[:] = []\n"
        "        found += [os.path.join(root, f) for f in files]\n"
        "print(sorted(os.listdir('/sandbox')), [p for p in os.listdir('/proc') if p.isdigit()])\n"
        f"print([f for f in found if {marker!r} in f or f.endswith(('/stdin', '/usage', 'kernel.log'))])"
    )
    held, sought = await asyncio.gather(holder, seeker)
    assert held.ok and sought.ok, sought.stderr
    assert sought.stdout == "[] ['1', '2']\n[]\n"  # its pid 1 (cat) and itself: no other


async def test_the_kernel_templates_environment_does_not_reach_programs(
    runner: ProgramRunner,
) -> None:
    """What ipykernel sets for kernels stays out (the host's is checked in test_containment)."""
    result = await runner.run("import os\nprint(*sorted(os.environ))")
    assert not set(result.stdout.split()) & {"JPY_PARENT_PID", "CLICOLOR", "MPLBACKEND"}


async def test_the_kernels_run_directory_is_not_writable(runner: ProgramRunner) -> None:
    """Kernels write their connection file there; a program has no use for it."""
    result = await runner.run("open('/run/kernel/x', 'w')")
    assert result.exit_code == 1 and "Error" in result.stderr, result.stderr


async def test_only_its_standard_streams_are_open(runner: ProgramRunner) -> None:
    """The template's line to the host and other requests' descriptors are closed."""
    result = await runner.run("import os\nprint(sorted(os.listdir('/proc/self/fd')))")
    assert result.stdout == "['0', '1', '2', '3']\n"  # 3: the listing's own


async def test_memory_bomb_gets_memory_error(runner: ProgramRunner) -> None:
    await raises(runner, "x = bytearray(8 * 1024**3)", "MemoryError")
    await raises(
        runner, "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 2**20))", "MemoryError"
    )


@needs_cgroup
async def test_memory_of_the_whole_task_is_capped(runner: ProgramRunner) -> None:
    hog = "b = bytearray(200 * 2**20)\\nfor i in range(0, len(b), 4096): b[i] = 1\\nimport time; time.sleep(1)"
    result = await runner.run(
        f"import subprocess, sys\nhog = '{hog}'\n"
        "procs = [subprocess.Popen([sys.executable, '-c', hog]) for _ in range(4)]\n"
        "print(*[p.wait() for p in procs])",
        timeout_s=30,
    )
    assert "-9" in result.stdout.split()  # 800 MB asked for under a 512 MB cap: OOM kills
    assert result.memory_killed and not result.ok
    assert result.peak_memory_bytes is not None
    assert result.peak_memory_bytes <= FAST.memory_mb << 20


@needs_cgroup
async def test_files_it_writes_count_toward_its_memory(runner: ProgramRunner) -> None:
    """Where a cgroup caps memory, the working directory is memory (fast to make and remove):
    writing more than the cap there, in files each under `max_file_mb`, is killed as memory,
    and nothing of it is left on the host.
    """
    directories = runner._require().kernels
    assert await asyncio.to_thread(memory_directory) in directories.parents
    (spare,) = runner._spares
    made = (await asyncio.shield(spare))._root  # the directory the program will run in
    assert made is not None and made.parent == directories
    result = await runner.run(
        "chunk = b'x' * 2**20\n"
        "for number in range(12):\n"
        "    with open(f'file-{number}', 'wb') as file:\n"
        "        for _ in range(60):\n"
        "            file.write(chunk)\n"
        "print('wrote 720 MiB')",
        timeout_s=30,
    )
    assert result.memory_killed and not result.ok, (result.stdout, result.stderr)
    assert result.peak_memory_bytes is not None
    assert result.peak_memory_bytes <= FAST.memory_mb << 20
    for _ in range(100):  # removed after the result
        if not await asyncio.to_thread(made.exists):
            break
        await asyncio.sleep(0.05)
    assert not await asyncio.to_thread(made.exists)


async def test_fork_bomb_is_capped_and_nothing_outlives_the_task(runner: ProgramRunner) -> None:
    mark = f"{uuid.uuid4().int % 10**6}.5"
    result = await runner.run(
        "import os\nforks = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        f"            os.execv('/bin/sleep', ['sleep', {mark!r}])\n        forks += 1\n"
        "except OSError as error:\n    print(forks, type(error).__name__)",
        timeout_s=10,
    )
    forks, error = result.stdout.split()
    assert int(forks) < FAST.max_processes and error == "BlockingIOError"
    assert await asyncio.to_thread(running_with, f"sleep\0{mark}") == []


async def test_processes_that_outlive_the_program_are_killed(runner: ProgramRunner) -> None:
    mark = f"{uuid.uuid4().int % 10**6}.25"
    result = await runner.run(
        "import subprocess\n"
        f"subprocess.Popen(['sleep', {mark!r}], start_new_session=True)\n"
        "import os\nif os.fork() == 0:\n    os.setsid()\n    import time\n    time.sleep(300)\n"
        "print('left them running')"
    )
    assert result.ok and result.stdout == "left them running\n"
    assert await asyncio.to_thread(running_with, f"sleep\0{mark}") == []


async def test_runaway_cpu_is_stopped_at_the_timeout(runner: ProgramRunner) -> None:
    result = await runner.run(
        "import signal\nfor s in (signal.SIGINT, signal.SIGTERM):\n"
        "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass",
        timeout_s=1.0,
    )
    assert result.timed_out and result.exit_code is None


async def test_huge_output_is_bounded(runner: ProgramRunner) -> None:
    result = await runner.run(
        "import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range(100_000):\n    sys.stdout.write(line)\n"
        "print('end')",
        timeout_s=30,
    )
    assert result.ok, result.stderr
    assert len(result.stdout) < FAST.output_chars + 100
    assert "characters cut" in result.stdout and result.stdout.endswith("end\n")


async def test_links_planted_in_the_working_directory_are_not_followed(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The host removes the working directory after the program: links, fifos and
    directories it left there are removed, never followed.
    """
    victim = tmp_path_factory.mktemp("host") / "victim"
    victim.write_text("root's own file\n")
    victim.chmod(0o600)
    async with ProgramRunner(FAST) as runner:
        directories = runner._require().kernels
        (spare,) = runner._spares
        await asyncio.shield(spare)  # the directory the program will run in
        (made,) = await asyncio.to_thread(lambda: list(directories.iterdir()))
        result = await runner.run(
            "import os\n"
            f"os.symlink({str(victim)!r}, 'link')\n"
            f"os.symlink({str(victim.parent)!r}, 'dir-link')\n"
            "os.mkfifo('fifo')\nos.makedirs('deep/er')\nos.symlink('/', 'deep/er/root')"
        )
        assert result.ok, result.stderr
        for _ in range(100):  # the program's directory is removed after its result
            if not await asyncio.to_thread(made.exists):
                break
            await asyncio.sleep(0.05)
        assert not await asyncio.to_thread(made.exists)
    status = victim.lstat()
    assert victim.read_text() == "root's own file\n"
    assert (status.st_uid, stat.S_IMODE(status.st_mode)) == (os.geteuid(), 0o600)


_OWNER = """
import asyncio, json, sys
from harmony_agent.sandbox import ProgramRunner, SandboxConfig

async def main(mark):
    async with ProgramRunner(SandboxConfig()) as runner:
        print(json.dumps(str(runner._require().root)), flush=True)
        await runner.run(f"import os; os.execv('/bin/sleep', ['sleep', {mark!r}])", timeout_s=600)

asyncio.run(main(sys.argv[1]))
"""


async def test_killing_the_parent_leaves_no_program_behind() -> None:
    """A process killed while its program runs leaves neither the program nor the template;
    its directories (in memory, where there is a cgroup) go with the next process's first
    program.
    """
    mark = f"{uuid.uuid4().int % 10**6}.75"
    program = f"sleep\0{mark}"
    owner = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _OWNER, mark, stdout=subprocess.PIPE
    )
    assert owner.stdout is not None
    root = Path(json.loads(await asyncio.wait_for(owner.stdout.readline(), 60)))
    for _ in range(200):  # the program runs
        if await asyncio.to_thread(running_with, program):
            break
        await asyncio.sleep(0.05)
    assert await asyncio.to_thread(running_with, program)
    below = await asyncio.to_thread(descendants, owner.pid)  # bwrap, template, pid 1, program
    assert len(below) >= 4
    owner.send_signal(signal.SIGKILL)
    await owner.wait()
    for _ in range(100):
        if not await asyncio.to_thread(running_with, str(root)):
            break
        await asyncio.sleep(0.05)
    assert await asyncio.to_thread(running_with, str(root)) == []  # the template
    assert await asyncio.to_thread(running_with, program) == []
    for _ in range(100):  # the program's pid 1 (cat of the template's pipe) ends too
        if not await asyncio.to_thread(_alive, below):
            break
        await asyncio.sleep(0.05)
    assert await asyncio.to_thread(_alive, below) == []
    assert await asyncio.to_thread(root.exists)
    await asyncio.to_thread(remove_orphans.__wrapped__)
    assert not await asyncio.to_thread(root.exists)
