"""One-shot programs through `ProgramRunner`: what goes in, what comes out, HumanEval."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
import pytest_asyncio
from harmony_agent.sandbox import ProgramResult, ProgramRunner, SandboxConfig
from harmony_agent.sandbox._cgroup import Cgroup
from harmony_agent.sandbox._config import ReadOnlyMount
from harmony_agent.sandbox._errors import (
    ConfigError,
    CopyError,
    KernelStartError,
    SandboxClosed,
    SandboxError,
)
from harmony_agent.sandbox._runner import _Task
from harmony_agent.sandbox._template import KernelTemplate

from tests.humaneval import humaneval

from .kernels import FAST, cgroups_here, descendants, needs_cgroup

pytestmark = pytest.mark.asyncio(loop_scope="module")

SIGNALS = (
    "import signal\n"
    "print('; '.join(f'{s.name}: {signal.getsignal(s)!s}' for s in sorted(signal.valid_signals())"
    " if s < signal.SIGRTMIN))\n"
)
"""Prints the handler of every classic signal."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runner() -> AsyncIterator[ProgramRunner]:
    async with ProgramRunner(FAST) as runner:
        yield runner


async def test_stdin_in_stdout_out(runner: ProgramRunner) -> None:
    result = await runner.run("import sys\nprint(sys.stdin.read().upper(), end='')", stdin="héllo")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "HÉLLO", "")
    assert result.ok and not result.timed_out and not result.memory_killed
    assert result.cpu_s is not None and result.cpu_s > 0
    assert result.peak_memory_bytes is not None and result.peak_memory_bytes > 0
    assert result.duration_s > 0


@pytest.mark.parametrize(
    ("code", "status", "stderr"),
    [
        ("import sys\nsys.exit(3)", 3, ""),
        ("import sys\nsys.exit('no luck')", 1, "no luck\n"),
        ("raise SystemExit", 0, ""),
        ("def f():\n    1 / 0\nf()", 1, 'File "<program>", line 2, in f\n    1 / 0\n'),
        ("def f(:\n    pass", 1, "SyntaxError"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)", -15, ""),
    ],
)
async def test_exit_status_and_errors_as_python_gives_them(
    runner: ProgramRunner, code: str, status: int, stderr: str
) -> None:
    result = await runner.run(code)
    assert result.exit_code == status
    assert stderr in result.stderr
    assert "_run_main" not in result.stderr  # the runner's own frame is not shown


async def test_the_program_is_main_with_its_own_future_flags(runner: ProgramRunner) -> None:
    result = await runner.run(
        "def f(x: undefined_name) -> None: pass\n"  # evaluated: no `annotations` future
        "print(__name__)"
    )
    assert result.exit_code == 1 and "NameError" in result.stderr
    main = await runner.run("import sys\nprint(__name__, sys.modules['__main__'].__name__)")
    assert main.stdout == "__main__ __main__\n"


async def test_signal_handlers_are_a_fresh_pythons(runner: ProgramRunner) -> None:
    # the template handles SIGCHLD itself: a program must not inherit that
    fresh = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", SIGNALS], capture_output=True, text=True
    )
    result = await runner.run(SIGNALS)
    assert result.stdout == fresh.stdout
    assert "; SIGCHLD: 0; " in result.stdout  # SIG_DFL


async def test_threads_and_exit_handlers_run_before_the_end(runner: ProgramRunner) -> None:
    result = await runner.run(
        "import atexit, threading, time\n"
        "atexit.register(lambda: print('at exit'))\n"
        "def late():\n    time.sleep(0.2)\n    print('thread')\n"
        "threading.Thread(target=late).start()\n"
        "print('main')"
    )
    assert result.stdout == "main\nthread\nat exit\n"


async def test_files_are_in_the_working_directory(runner: ProgramRunner) -> None:
    result = await runner.run(
        "import helper\nprint(helper.VALUE, open('data/input.bin', 'rb').read())",
        files={"helper.py": "VALUE = 42\n", "data/input.bin": b"\x00\x01"},
    )
    assert result.stdout == "42 b'\\x00\\x01'\n", result.stderr


@pytest.mark.parametrize("name", ["/etc/passwd", "../up", "a/../../b", "", "a//b"])
async def test_file_paths_outside_the_working_directory_are_refused(
    runner: ProgramRunner, name: str
) -> None:
    with pytest.raises(CopyError):
        await runner.run("pass", files={name: "x"})


async def test_output_is_bounded_and_decoded(runner: ProgramRunner) -> None:
    result = await runner.run(
        "import sys\nsys.stdout.buffer.write(b'bad \\xff byte\\n')\nsys.stderr.write('e' * 100_000)"
    )
    assert result.stdout == "bad \ufffd byte\n"
    assert len(result.stderr) < FAST.output_chars + 100
    assert "characters cut" in result.stderr


async def test_timeout_kills_the_task(runner: ProgramRunner) -> None:
    result = await runner.run("print('started', flush=True)\nwhile True:\n    pass", timeout_s=0.5)
    assert result.timed_out and result.exit_code is None and not result.ok
    assert result.stdout == "started\n"
    limit = await runner.run(
        "import resource\nprint(resource.getrlimit(resource.RLIMIT_CPU))", timeout_s=2.5
    )
    assert limit.stdout == "(4, 4)\n"  # the CPU limit follows the timeout


async def test_concurrent_programs_each_get_their_own_directory(runner: ProgramRunner) -> None:
    code = "import os, sys, time\nopen('mine', 'w').write(sys.stdin.read())\ntime.sleep(0.3)\nprint(os.listdir(), open('mine').read())"
    results = await asyncio.gather(*(runner.run(code, stdin=str(n)) for n in range(4)))
    assert [r.stdout for r in results] == [f"['mine'] {n}\n" for n in range(4)]


async def test_as_many_sandboxes_are_made_ahead_as_programs_run() -> None:
    """Each run in flight has a next sandbox made (its process forked) while it runs, so that
    runs that follow one another each find one ready.
    """
    async with ProgramRunner(FAST) as runner:
        await asyncio.shield(runner._spares[0])
        assert len(runner._spares) == 1
        runs = [asyncio.ensure_future(runner.run("import time\ntime.sleep(0.5)")) for _ in range(3)]
        await asyncio.sleep(0.25)  # all three run
        assert len(runner._spares) == 3
        made = await asyncio.gather(*runner._spares)
        assert all(task._init is not None for task in made)  # forked, waiting
        assert all(result.ok for result in await asyncio.gather(*runs))
        assert (await runner.run("pass")).ok  # takes one made ahead: none is added
        assert len(runner._spares) == 2


async def test_a_thousand_programs_back_to_back_each_end(runner: ProgramRunner) -> None:
    """A program's pid 1 waits until the template has reaped the program: many short
    programs in a row must each end. (The template reaped in a Python signal handler, which
    runs between two bytecodes: a SIGCHLD just before its loop blocked reading the host's
    next request went unseen, and the runs waiting for it hung. That showed in a few
    thousand programs beside other work; `test_inside` checks the wakeup it reaps on now.)
    """
    gate = asyncio.Semaphore(4)

    async def one(number: int) -> str:
        async with gate:
            return (await runner.run(f"print({number})")).stdout

    async with asyncio.timeout(120):
        printed = await asyncio.gather(*(one(number) for number in range(1000)))
    assert printed == [f"{number}\n" for number in range(1000)]


async def test_concurrent_programs_with_mounts_below_tmp(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Each program's process moves the mounts below /tmp (a virtual environment there, read-only
    # mounts) aside while it mounts its own /tmp; when they waited in a directory the
    # template's programs share, concurrent ones took each other's places (about 1 in 30
    # failed, reported as killed, with empty output).
    data = tmp_path_factory.mktemp("data")
    data.chmod(0o755)
    (data / "value").write_text("7")
    mount = ReadOnlyMount(source=data, target="/tmp/data")
    config = FAST.model_copy(update={"read_only_mounts": (mount,)})
    async with ProgramRunner(config) as runner:
        gate = asyncio.Semaphore(8)

        async def run(number: int) -> ProgramResult:
            async with gate:
                return await runner.run(f"print({number} * int(open('/tmp/data/value').read()))")

        results = await asyncio.gather(*(run(number) for number in range(200)))
    unexpected = {
        number: result
        for number, result in enumerate(results)
        if (result.exit_code, result.stdout) != (0, f"{number * 7}\n")
    }
    assert not unexpected, unexpected


@needs_cgroup
async def test_cgroups_serve_program_after_program_with_their_counts_started_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # each child holds its 200 MiB until all four could hold theirs: 800 MiB at once in a
    # 512 MiB group (children that finished before the last started fitted, now and then)
    hog = (
        "import time\\nb = bytearray(200 * 2**20)\\nfor i in range(0, len(b), 4096): b[i] = 1"
        "\\ntime.sleep(3)"
    )
    programs = {
        "oom": f"import subprocess, sys\nhog = '{hog}'\n"
        "procs = [subprocess.Popen([sys.executable, '-c', hog]) for _ in range(4)]\n"
        "print(*[p.wait() for p in procs])",
        "file": "open('big', 'wb').write(bytes(50 * 2**20))",
        "anon": "b = bytearray(200 * 2**20)\nfor i in range(0, len(b), 4096): b[i] = 1",
    }
    created: list[Cgroup] = []
    create = Cgroup.create

    def counted(**limits: int) -> Cgroup:
        created.append(create(**limits))
        return created[-1]

    async with ProgramRunner(FAST) as runner:
        (spare,) = runner._spares
        await asyncio.shield(spare)  # made with the first group
        monkeypatch.setattr(Cgroup, "create", counted)
        for name, code in programs.items():
            await asyncio.gather(*runner._cleanups)  # each program's cgroup is back first
            heavy = await runner.run(code, timeout_s=30)
            assert heavy.peak_memory_bytes is not None and heavy.peak_memory_bytes > 40 * 2**20
            assert heavy.memory_killed == (name == "oom"), heavy
            for _ in range(2):  # the second runs in the heavy program's cgroup
                await asyncio.gather(*runner._cleanups)
                light = await runner.run("print('light')")
                assert light.ok and not light.memory_killed, (name, light)
                # neither the heavy program's pages nor its files' page cache count
                assert light.peak_memory_bytes is not None
                assert light.peak_memory_bytes < 32 * 2**20, (name, light)
    assert len(created) == 1  # 9 programs and their spares (made ahead): in two groups
    assert not any(d.exists() for group in created for d in group.directories)  # all removed


def cgroups_taken(runner: ProgramRunner, monkeypatch: pytest.MonkeyPatch) -> list[Cgroup]:
    """The list of the cgroups `runner` takes from now on (none where none can be made);
    other runners of this process (a module's) make theirs meanwhile, in the background.
    """
    taken: list[Cgroup] = []
    take = runner._cgroups.take

    def recorded() -> Cgroup:
        taken.append(take())
        return taken[-1]

    monkeypatch.setattr(runner._cgroups, "take", recorded)
    return taken


def assert_removed(cgroups: list[Cgroup]) -> None:
    """Every one of `cgroups` is gone (and there were some where cgroups can be made)."""
    assert bool(cgroups) == cgroups_here()
    assert not any(d.exists() for group in cgroups for d in group.directories)


async def test_closing_the_runner_leaves_no_directory_cgroup_or_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = ProgramRunner(FAST)
    taken = cgroups_taken(runner, monkeypatch)
    await runner.start()
    assert (await runner.run("print('ran')")).stdout == "ran\n"
    (spare,) = runner._spares
    await asyncio.shield(spare)  # the next program's directory, cgroup and init
    template = runner._require()
    assert template._process is not None
    pids = [template._process.pid, *descendants(template._process.pid)]
    await runner.aclose()
    assert not await asyncio.to_thread(template.root.exists)
    await asyncio.to_thread(assert_removed, taken)
    for _ in range(100):  # killed: they end as soon as the kernel has torn them down
        alive = await asyncio.to_thread(_running, pids)
        if not alive:
            break
        await asyncio.sleep(0.02)
    assert not alive


async def test_closing_the_runner_while_programs_run_leaves_no_cgroup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = ProgramRunner(FAST)
    taken = cgroups_taken(runner, monkeypatch)
    await runner.start()
    runs = [
        asyncio.ensure_future(runner.run("import time\ntime.sleep(60)", timeout_s=60))
        for _ in range(2)
    ]
    await asyncio.sleep(0.5)
    await runner.aclose()
    ended = await asyncio.gather(*runs, return_exceptions=True)  # with the template
    assert all(isinstance(end, ProgramResult | SandboxError) for end in ended), ended
    await asyncio.gather(*runner._cleanups)  # given back after the close: removed
    await asyncio.to_thread(assert_removed, taken)


def _running(pids: list[int]) -> list[int]:
    """Those of `pids` that still run (not ended, and not a zombie waiting to be reaped)."""
    running = []
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            if Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
                running.append(pid)
    return running


async def test_a_failing_init_is_an_error_with_its_words(
    runner: ProgramRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill = _Task.fill

    def planted(
        task: _Task, stdin: bytes, files: Mapping[str, bytes], directory: Path | None
    ) -> None:
        fill(task, stdin, files, directory)
        assert task._root is not None
        stdin_file = task._root / "host" / "stdin"
        stdin_file.unlink()
        stdin_file.symlink_to("/etc/passwd")  # the init opens it without following links

    monkeypatch.setattr(_Task, "fill", planted)
    with pytest.raises(
        KernelStartError, match=r"the program's sandbox failed: (?s:.*)OSError: \[Errno 40\]"
    ):
        await runner.run("print('never')")
    monkeypatch.undo()
    assert (await runner.run("print('next')")).stdout == "next\n"


async def test_a_cancelled_run_kills_its_program(runner: ProgramRunner) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await runner.run("import time\ntime.sleep(60)", timeout_s=60)
    after = await runner.run("print('next')")  # the runner goes on
    assert after.stdout == "next\n"


async def test_use_before_start_and_files_in_the_config_are_errors() -> None:
    with pytest.raises(SandboxClosed):
        await ProgramRunner(FAST).run("pass")
    with pytest.raises(ConfigError):
        ProgramRunner(SandboxConfig(files=(Path("x"),)))


@pytest.mark.parametrize(("body", "passing"), [(None, True), ("    return None\n", False)])
async def test_humaneval_canonical_solutions_pass_and_broken_ones_fail(
    runner: ProgramRunner, body: str | None, passing: bool
) -> None:
    programs = humaneval(body)
    gate = asyncio.Semaphore(2)

    async def run(code: str) -> ProgramResult:
        async with gate:
            return await runner.run(code, timeout_s=10)

    results = await asyncio.gather(*(run(code) for code in programs))
    assert len(results) == 164
    unexpected = {index: result for index, result in enumerate(results) if result.ok != passing}
    assert not unexpected, unexpected


async def test_programs_fork_from_a_template_without_ipykernel(runner: ProgramRunner) -> None:
    result = await runner.run(
        "import sys\nprint(*(name in sys.modules for name in ('ipykernel', 'IPython', 'zmq')))"
    )
    assert result.stdout == "False False False\n"
    template = await KernelTemplate.start(FAST, kernels=False)
    try:
        with pytest.raises(KernelStartError, match="one-shot programs only"):
            await template.fork(template.new_root(), None, "key")
    finally:
        await template.aclose()


async def test_a_directory_is_copied_in_without_its_links_and_special_files(
    runner: ProgramRunner, tmp_path: Path
) -> None:
    given = tmp_path / "given"
    (given / "sub").mkdir(parents=True)
    (given / "sub" / "data.txt").write_text("inside")
    (given / "top.txt").write_text("top")
    (given / "passwd").symlink_to("/etc/passwd")
    os.mkfifo(given / "pipe")
    result = await runner.run(
        "import os\nprint(sorted(os.listdir('.')), open('sub/data.txt').read(),"
        " os.stat('top.txt').st_uid)",
        directory=given,
        files={"extra.txt": "x"},
    )
    assert result.stdout == "['extra.txt', 'sub', 'top.txt'] inside 65534\n", result.stderr
    assert result.not_copied == "1 fifo, 1 symbolic link"
    assert (await runner.run("pass", directory=tmp_path / "given" / "sub")).not_copied is None
