"""What every way of running code in the sandbox keeps out: the network, the host's files and
environment, writes outside the working directory. The same attempts run in a kernel started
on its own, a kernel forked from a template, and a one-shot program.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import pytest
import pytest_asyncio
from harmony_agent.sandbox import ProgramRunner, Sandbox

from .kernels import FAST, KINDS, open_sandbox

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "HARMONY_SANDBOX_TEST_SECRET"
CHECKOUT = Path(__file__).resolve().parents[3]


class Jail(Protocol):
    """Runs code in the sandbox one way."""

    async def failure(self, code: str) -> str:
        """Runs `code`, which must fail; returns what it failed with."""

    async def output(self, code: str) -> str:
        """Runs `code`, which must succeed; returns what it printed."""


class KernelJail:
    """Code run as a cell of a sandboxed kernel."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    async def failure(self, code: str) -> str:
        result = await self._sandbox.execute(code)
        assert result.error is not None, (result.stdout, result.result)
        return result.error

    async def output(self, code: str) -> str:
        result = await self._sandbox.execute(code)
        assert result.ok, result.error
        return result.stdout


class ProgramJail:
    """Code run as a one-shot program."""

    def __init__(self, runner: ProgramRunner) -> None:
        self._runner = runner

    async def failure(self, code: str) -> str:
        result = await self._runner.run(code)
        assert result.exit_code == 1, (result.stdout, result.stderr)
        return result.stderr

    async def output(self, code: str) -> str:
        result = await self._runner.run(code)
        assert result.ok, result.stderr
        return result.stdout


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=[*KINDS, "program"])
async def jail(request: pytest.FixtureRequest) -> AsyncIterator[Jail]:
    os.environ[SECRET] = "hunter2"  # the parent's environment holds a secret
    try:
        async with contextlib.AsyncExitStack() as stack:
            if request.param == "program":
                yield ProgramJail(await stack.enter_async_context(ProgramRunner(FAST)))
            else:
                yield KernelJail(await stack.enter_async_context(open_sandbox(request.param)))
    finally:
        os.environ.pop(SECRET, None)


async def fails_with(jail: Jail, code: str, *errors: str) -> None:
    """Runs `code`, which must fail with one of `errors`."""
    error = await jail.failure(code)
    assert any(name in error for name in errors), error


async def test_no_route_to_the_internet(jail: Jail) -> None:
    await fails_with(
        jail,
        "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)",
        "Network is unreachable",
        "OSError",
    )


async def test_no_dns(jail: Jail) -> None:
    await fails_with(jail, "import socket\nsocket.getaddrinfo('example.com', 80)", "gaierror")


async def test_host_loopback_services_are_out_of_reach(jail: Jail) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await fails_with(
            jail,
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)",
            "ConnectionRefusedError",
        )
    finally:
        server.close()
        await server.wait_closed()


async def test_writes_outside_the_working_directory_fail(jail: Jail) -> None:
    for path in ("/usr/escape", "/etc/escape", "/escape", f"{sys.prefix}/escape"):
        await fails_with(jail, f"open({path!r}, 'w')", "OSError", "PermissionError", "FileNotFound")
    name = f"harmony-escape-{uuid.uuid4().hex}"
    await jail.output(f"open('/tmp/{name}', 'w').write('x')")  # a /tmp of its own ...
    assert not await asyncio.to_thread(Path("/tmp", name).exists)  # ... not the host's


WRITABLE = """
import json, os
mounts = {}  # mount point: mounted read-write
for line in open('/proc/self/mountinfo'):
    fields = line.split()
    mounts[fields[4]] = 'rw' in fields[5].split(',')
writable = []
for top, read_write in mounts.items():
    if not read_write or top.startswith(('/proc', '/sys', '/dev')):
        continue  # nothing on a read-only mount is writable
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in mounts]
        if os.access(root, os.W_OK):
            writable.append(root)
print(json.dumps(writable))
"""


async def test_nothing_but_its_own_directories_is_writable(jail: Jail) -> None:
    """Found by walking every read-write mount: the directories bubblewrap and the template
    made belong to whoever started them, the code's own user on the host when that is not
    root (the root file system, /etc, /run and /sandbox were writable for such a user).
    """
    writable = json.loads(await jail.output(WRITABLE))
    own = ("/mnt/data", "/run/kernel", "/tmp")
    assert [d for d in writable if not d.startswith(own)] == []


async def test_its_init_can_be_neither_signalled_nor_inspected(jail: Jail) -> None:
    """Pid 1 of a forked kernel's namespace is a shell, a program's a `cat`, both with the
    template's privileges (as another user than root the code has their uid on the host). (A
    started kernel's pid 1 is bubblewrap's, which keeps no capability: reaching it gains
    nothing.)
    """
    seen = await jail.output(
        "import ctypes, json, os, signal, time\n"
        "for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):\n"
        "    try:\n"
        "        os.kill(1, number)\n"
        "    except PermissionError:  # another uid's (as root)\n"
        "        pass\n"
        "time.sleep(0.2)\n"
        "reached = []\n"
        "try:\n"
        "    for fd in os.listdir('/proc/1/fd'):\n"
        "        os.close(os.open(f'/proc/1/fd/{fd}', os.O_PATH))\n"
        "        reached.append(fd)\n"
        "except OSError:\n"
        "    pass\n"
        "for path in ('/proc/1/root/', '/proc/1/cwd/'):\n"
        "    try:\n"
        "        os.listdir(path)\n"
        "        reached.append(path)\n"
        "    except OSError:\n"
        "        pass\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "if libc.ptrace(16, 1, None, None) == 0:  # PTRACE_ATTACH\n"
        "    reached.append('ptrace')\n"
        "    os.waitpid(1, 0x40000000)  # __WALL: stopped; let go of it (PTRACE_DETACH)\n"
        "    libc.ptrace(17, 1, None, None)\n"
        "status = dict(line.split(':', 1) for line in open('/proc/1/status'))\n"
        "print(json.dumps([reached, status['CapPrm'].strip()]))"
    )
    reached, capabilities = json.loads(seen)
    assert reached == [] or capabilities == "0000000000000000", (reached, capabilities)


async def test_host_files_are_unreadable(jail: Jail) -> None:
    await fails_with(jail, "open('/etc/shadow').read()", "FileNotFoundError", "PermissionError")
    await fails_with(
        jail, f"open({str(CHECKOUT / 'pyproject.toml')!r}).read()", "FileNotFoundError"
    )
    listed = await jail.output(
        "import os\nprint(sorted(os.listdir('/root')) if os.path.isdir('/root') else [])"
    )
    assert ".bashrc" not in listed and ".ssh" not in listed


async def test_the_parent_environment_is_not_inherited(jail: Jail) -> None:
    printed = await jail.output(
        f"import os\nprint(os.environ.get({SECRET!r}), *sorted(os.environ))"
    )
    value, *names = printed.split()
    assert value == "None" and "hunter2" not in printed
    assert not set(names) & {"VIRTUAL_ENV", "USER", "SSH_AUTH_SOCK", "JPY_PARENT_PID"}


async def test_no_descriptor_of_a_namespace_or_of_another_sandbox(jail: Jail) -> None:
    printed = await jail.output(  # not its many sockets, pipes and event fds (output is cut)
        "import os\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        target = os.readlink(f'/proc/self/fd/{fd}')\n"
        "    except OSError:\n"
        "        continue\n"
        "    if not target.startswith(('socket:', 'pipe:', 'anon_inode:')):\n"
        "        print(target)\n"
    )
    targets = printed.split()
    # the template's own pid namespace was one a forked kernel held
    assert not [t for t in targets if t.split(":")[0] in {"pid", "mnt", "net", "ipc", "uts"}]
    # its own streams and log only: files of one sandbox directory
    assert len({t.split("/")[2] for t in targets if t.startswith("/sandbox/")}) <= 1, targets
