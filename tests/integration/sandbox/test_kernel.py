"""A real sandboxed kernel: state, output capture, images, truncation, timeouts, death."""

from __future__ import annotations

import asyncio
import base64

import pytest
from harmony_agent.sandbox import WORKDIR, Kernel, Sandbox, check_isolation

from .kernels import FAST

pytestmark = pytest.mark.asyncio(loop_scope="module")

# A 1x1 PNG, displayed through IPython's display machinery as a plotting library would.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f6c0"
        "5b0000000049454e44ae426082"
    )
).decode()


async def test_state_persists_across_calls(sandbox: Sandbox) -> None:
    await sandbox.execute("counter = 40\ndef bump(n):\n    return counter + n")
    result = await sandbox.execute("bump(2)")
    assert result.result == "42"
    assert result.ok


async def test_stdout_stderr_and_value(sandbox: Sandbox) -> None:
    result = await sandbox.execute(
        "import sys\nprint('to out')\nprint('to err', file=sys.stderr)\n'value'"
    )
    assert (result.stdout, result.stderr, result.result) == ("to out\n", "to err\n", "'value'")
    assert result.error is None


async def test_top_level_await_runs_and_gives_its_value(sandbox: Sandbox) -> None:
    """A cell may await at its top level, as in Jupyter (ipykernel runs it on its own
    asyncio loop): its output and value come back.
    """
    result = await sandbox.execute(
        "import asyncio\nawait asyncio.sleep(0)\nprint('awaited')\nawait asyncio.sleep(0, 'value')"
    )
    assert (result.stdout, result.result, result.error) == ("awaited\n", "'value'", None)


async def test_error_has_a_plain_traceback(sandbox: Sandbox) -> None:
    result = await sandbox.execute("def f():\n    return 1 / 0\nf()")
    assert result.error is not None
    assert "ZeroDivisionError: division by zero" in result.error
    assert "return 1 / 0" in result.error
    assert "\x1b[" not in result.error
    assert not result.ok


async def test_shell_commands_and_output_of_child_processes(sandbox: Sandbox) -> None:
    result = await sandbox.execute(
        "import os\nos.system('echo from a child process')\n"
        "echoed = !echo from the shell\nprint(echoed[0], get_ipython().kernel is not None)"
    )
    assert "from a child process\n" in result.stdout
    assert "from the shell True\n" in result.stdout
    assert result.ok


async def test_orphans_of_its_processes_are_reaped(sandbox: Sandbox) -> None:
    """What a kernel's processes leave behind (a shell's background job) is reaped by pid 1
    when it ends: zombies would fill a long-lived kernel's process limit. (A one-shot
    program's wait for its end, when its pid 1 goes.)
    """
    result = await sandbox.execute(
        "import os, subprocess, time\n"
        "for _ in range(5):\n"
        "    subprocess.run(['sh', '-c', 'sleep 0.05 &'], check=True)\n"
        "time.sleep(0.5)\n"
        "orphans = []\n"  # (state, parent) of each process pid 1 adopted
        "for pid in os.listdir('/proc'):\n"
        "    try:\n"
        "        state, parent = open(f'/proc/{pid}/stat').read().rpartition(')')[2].split()[:2]\n"
        "    except (OSError, ValueError):\n"
        "        continue\n"
        "    if parent == '1':\n"
        "        orphans.append(state)\n"
        "print(len(orphans), orphans.count('Z'))"
    )
    adopted, zombies = map(int, result.stdout.split())
    assert adopted >= 1 and zombies == 0  # the kernel itself, or a cat, is pid 1's too


async def test_magics_in_a_cell(sandbox: Sandbox) -> None:
    """IPython's own syntax among plain Python (a forked kernel tokenizes only cells that
    may have it).
    """
    result = await sandbox.execute(
        "here = %pwd\nanswer = 6 * 7\n%time copied = answer\nprint(here, copied % 40)"
    )
    assert f"{sandbox.code_workdir} 2\n" in result.stdout
    assert "Wall time" in result.stdout
    assert result.ok


async def test_help_is_shown(sandbox: Sandbox) -> None:
    """`name?` and `%pinfo` send their text to the frontend's pager (a payload of the
    execute reply, not output): the result shows it as output, without terminal colours.
    """
    result = await sandbox.execute("def area(r):\n    'The area of a circle.'\narea?")
    assert "Signature: area(r)" in result.stdout
    assert "The area of a circle." in result.stdout
    assert "\x1b" not in result.stdout
    result = await sandbox.execute("print('before')\n%pinfo len")
    assert result.stdout.startswith("before\n")
    assert "Return the number of items in a container." in result.stdout
    assert result.ok


async def test_a_kernel_that_withholds_its_replies_still_answers(sandbox: Sandbox) -> None:
    """Code can stop the kernel's execute replies (where help text comes from): each cell's
    output then comes after `interrupt_grace_s`, without its help.
    """
    await sandbox.execute(
        "kernel = get_ipython().kernel\n"
        "send = kernel.session.send\n"
        "def withheld(stream, kind, *args, **kwargs):\n"
        "    if kind == 'execute_reply':\n"
        "        return {'content': {'status': 'ok'}}\n"
        "    return send(stream, kind, *args, **kwargs)\n"
        "kernel.session.send = withheld"
    )
    result = await sandbox.execute("print('still here')\n%pinfo len")
    assert result.stdout == "still here\n"
    assert result.ok and not result.restarted


async def test_working_directory_and_user(sandbox: Sandbox) -> None:
    result = await sandbox.execute("import os\nos.getcwd(), os.getuid() != 0")
    assert result.result == f"('{sandbox.code_workdir}', True)"
    assert sandbox.code_workdir == WORKDIR
    await sandbox.execute("open('notes.txt', 'w').write('kept')")
    assert (sandbox.workdir / "notes.txt").read_text() == "kept"


async def test_displayed_image_is_saved_and_named(sandbox: Sandbox) -> None:
    result = await sandbox.execute(
        f"from IPython.display import Image, display\nimport base64\n"
        f"display(Image(data=base64.b64decode('{PNG}'), format='png'))\nprint('shown')"
    )
    assert result.stdout == "shown\n"
    assert len(result.images) == 1
    image = result.images[0]  # the host's copy; the code gets its own in the working directory
    assert image.suffix == ".png"
    assert (
        image.read_bytes() == (sandbox.workdir / image.name).read_bytes() == base64.b64decode(PNG)
    )


async def test_long_output_keeps_head_and_tail(sandbox: Sandbox) -> None:
    result = await sandbox.execute("for i in range(2000):\n    print(f'line {i}')")
    assert result.stdout.startswith("line 0\nline 1\n")
    assert result.stdout.endswith("line 1999\n")
    assert "characters cut ...]" in result.stdout
    assert len(result.stdout) < 1100  # the configured budget, plus the note


async def test_timeout_interrupts_and_keeps_state(sandbox: Sandbox) -> None:
    await sandbox.execute("kept = 'yes'")
    result = await sandbox.execute("while True:\n    pass", timeout=1.0)
    assert result.timed_out and result.interrupted and not result.restarted
    assert result.error is not None and "KeyboardInterrupt" in result.error
    assert (await sandbox.execute("kept")).result == "'yes'"


async def test_ignored_interrupt_restarts_the_kernel(sandbox: Sandbox) -> None:
    await sandbox.execute("lost = 1")
    result = await sandbox.execute(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        timeout=1.0,
    )
    assert result.timed_out and result.restarted and not result.interrupted
    after = await sandbox.execute("lost")
    assert after.error is not None and "NameError" in after.error
    assert (sandbox.workdir / "notes.txt").exists()  # files survive a restart


async def test_death_is_detected_and_the_kernel_restarted(sandbox: Sandbox) -> None:
    await sandbox.execute("before = 1")
    result = await sandbox.execute("import os\nos._exit(3)")
    assert result.died == "exited with status 3"
    assert result.restarted and not result.timed_out
    assert (await sandbox.execute("'alive'")).result == "'alive'"


async def test_death_between_calls_is_reported_on_the_next(sandbox: Sandbox) -> None:
    await sandbox.execute(
        "import os, signal, threading\n"
        "threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGKILL)).start()"
    )
    await asyncio.sleep(1.0)
    result = await sandbox.execute("1 + 1")
    assert result.died == "killed by signal SIGKILL"
    assert result.restarted
    assert result.result == "2"


async def test_cancelled_start_leaves_nothing_running() -> None:
    starting = asyncio.create_task(Kernel.start(FAST, check_isolation(FAST)))
    await asyncio.sleep(0.2)  # the kernel process is up, the handshake under way
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    await asyncio.sleep(0.3)
    left = [t for t in asyncio.all_tasks() if "handshake" in repr(t.get_coro())]
    assert left == []
