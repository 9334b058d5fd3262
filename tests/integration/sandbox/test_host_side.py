"""Attacks on the host side of the sandbox: the code inside plants links where the host (root)
writes, reads or connects, and floods the host with what it sends. The host must follow no
path the code can change and buffer nothing past its bounds.
"""

from __future__ import annotations

import asyncio
import os
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from harmony_agent.sandbox import Sandbox
from harmony_agent.sandbox._channels import MAX_MESSAGE_BYTES

from .kernels import KINDS, open_sandbox

pytestmark = pytest.mark.asyncio(loop_scope="module")

VICTIM_TEXT = "root's own file\n"
RUN = "/run/kernel"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=KINDS)
async def jail(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A kernel started on its own, and one forked from a pool's template process."""
    async with open_sandbox(request.param) as sandbox:
        yield sandbox


@pytest.fixture
def victim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root-only host file the code must not be able to change, chown or read."""
    path = tmp_path_factory.mktemp("host") / "victim"
    path.write_text(VICTIM_TEXT)
    path.chmod(0o600)
    return path


def assert_untouched(victim: Path) -> None:
    status = victim.lstat()
    assert victim.read_text() == VICTIM_TEXT
    assert (status.st_uid, stat.S_IMODE(status.st_mode)) == (os.geteuid(), 0o600)


def show_images(count: int = 1) -> str:
    """Code that displays a one-pixel PNG `count` times."""
    return (
        "import base64\nfrom IPython.display import Image, display\n"
        f"for _ in range({count}):\n    display(Image(data=base64.b64decode({PNG!r})))\n"
    )


class PeakMemory:
    """The most this process's resident memory grew over its start, sampled every 5 ms."""

    def __init__(self) -> None:
        self.grown = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PeakMemory:
        self._task = asyncio.create_task(self._sample(_resident()))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()

    async def _sample(self, start: int) -> None:
        while True:
            self.grown = max(self.grown, _resident() - start)
            await asyncio.sleep(0.005)


def _resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_an_image_name_planted_as_a_link_is_not_written_through(
    jail: Sandbox, victim: Path, tmp_path: Path
) -> None:
    absent = tmp_path / "created-by-the-host"
    planted = await jail.execute(
        "import os, glob\n"
        "n = 1 + max([int(p[6:].split('.')[0]) for p in glob.glob('image-*')], default=0)\n"
        "for i in range(n, n + 2):\n"
        f"    os.symlink({str(victim)!r} if i % 2 else {str(absent)!r}, f'image-{{i}}.png')\n"
        + show_images(2)
    )
    assert planted.error is None, planted.error
    assert "not saved: the name is taken" in planted.stderr
    assert_untouched(victim)
    assert not absent.exists() and not absent.is_symlink()
    saved = await jail.execute(show_images())
    (image,) = saved.images  # the host's copy, which the code cannot change
    await jail.execute(f"os.unlink({image.name!r})")
    assert image.parent == jail.kernel.root / "host" / "images"
    assert image.read_bytes().startswith(b"\x89PNG")
    assert not (jail.workdir / image.name).exists()


async def test_links_planted_in_the_run_directory_are_not_followed_on_restart(
    jail: Sandbox, victim: Path
) -> None:
    planted = await jail.execute(
        "import os\n"
        f"for name in ('kernel.json', 'kernel.log', 'exit', '.parked-0'):\n"
        f"    path = os.path.join({RUN!r}, name)\n"
        "    if os.path.lexists(path):\n"
        "        os.unlink(path)\n"
        f"    os.symlink({str(victim)!r}, path)\n"
        f"os.mkdir({RUN!r} + '/k-9')\n"
        "os._exit(1)"
    )
    assert planted.died == "exited with status 1"
    assert VICTIM_TEXT.strip() not in planted.stdout + planted.stderr
    after = await jail.execute("import os\nsorted(os.listdir('/run/kernel'))")
    assert after.error is None, after.error
    assert "k-9" not in str(after.result)  # a fresh run directory
    assert_untouched(victim)
    assert VICTIM_TEXT.strip() not in str(after.result)


async def test_the_host_never_reconnects_to_a_socket_the_code_planted(
    jail: Sandbox, tmp_path: Path
) -> None:
    """The code swaps its iopub socket for a link to a host socket and drops the host's
    connection: libzmq would reconnect through the link within milliseconds.
    """
    lure = tmp_path / "lure.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(lure))
    lure.chmod(0o777)
    server.listen()
    server.setblocking(False)
    try:
        result = await jail.execute(
            "import os, time\n"
            f"os.unlink({RUN!r} + '/k-2')\n"
            f"os.symlink({str(lure)!r}, {RUN!r} + '/k-2')\n"
            "thread = get_ipython().kernel.iopub_thread\n"
            "thread.io_loop.add_callback(lambda: thread.socket.close(linger=0))\n"
            "time.sleep(1)\n"
        )
        assert result.restarted and result.died == "it broke its connection to the host"
        await asyncio.sleep(0.5)
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()
    assert (await jail.execute("'alive'")).result == "'alive'"


def flood(frames: int, frame_bytes: int) -> str:
    """Code that sends one message signed with the kernel's key, carrying `frames` buffers
    of `frame_bytes` each, on the kernel's iopub socket.
    """
    return (
        "k = get_ipython().kernel\n"
        f"chunk = memoryview(b'x' * {frame_bytes})\n"
        "sent = k.session.send(k.iopub_socket, 'stream', {'name': 'stdout', 'text': 'flood'},\n"
        f"    parent=k.get_parent(), buffers=[chunk] * {frames})\n"
    )


async def test_a_message_of_endless_frames_is_dropped_within_the_bound(jail: Sandbox) -> None:
    async with PeakMemory() as memory:
        result = await jail.execute(flood(frames=256, frame_bytes=1 << 20))  # 256 MiB
    assert memory.grown < 2 * MAX_MESSAGE_BYTES, f"the host grew by {memory.grown >> 20} MiB"
    assert result.error is None and not result.restarted, result
    assert "1 messages from the kernel were dropped" in result.stderr
    assert (await jail.execute("1 + 1")).result == "2"


async def test_oversized_and_forged_messages_are_dropped(jail: Sandbox) -> None:
    result = await jail.execute(
        flood(frames=1, frame_bytes=MAX_MESSAGE_BYTES + 1) + "k = get_ipython().kernel\n"
        "k.iopub_socket.send_multipart([b'<IDS|MSG>', b'bad', b'{}', b'{}', b'{}', b'{}'])\n"
        "k.session.send(k.iopub_socket, 'stream', {'name': 'stdout', 'text': 'y' * (40 << 20)}, parent=k.get_parent())\n"
        "print('still here')\n"
    )
    assert result.error is None and not result.restarted, result
    assert "still here" in result.stdout and "y" * 100 not in result.stdout
    assert "3 messages from the kernel were dropped" in result.stderr


async def test_malformed_display_data_is_noted_not_raised(jail: Sandbox) -> None:
    result = await jail.execute(
        "k = get_ipython().kernel\n"
        "for data in ({'image/png': 7}, {'image/png': '@@not base64@@'}, ['image/png'], None):\n"
        "    k.session.send(k.iopub_socket, 'display_data', {'data': data, 'metadata': {}}, parent=k.get_parent())\n"
        "k.session.send(k.iopub_socket, 'error', {'traceback': 'not a list'}, parent=k.get_parent())\n"
    )
    assert not result.restarted
    assert result.stderr.count("not saved") == 2
    assert (await jail.execute("1 + 1")).result == "2"


async def test_images_per_execution_are_bounded(jail: Sandbox) -> None:
    result = await jail.execute(show_images(25))
    assert len(result.images) == 20
    assert result.stderr.count("one execution saves at most 20") == 5


async def test_host_files_of_the_kernel_are_out_of_the_codes_sight(jail: Sandbox) -> None:
    root = jail.kernel.root
    host = root / "host"
    assert stat.S_IMODE(host.stat().st_mode) == 0o700 and host.stat().st_uid == os.geteuid()
    assert not (root / "run" / "kernel.log").exists()
    seen = await jail.execute("import os\nsorted(os.listdir('/run/kernel'))")
    assert "kernel.log" not in str(seen.result) and "exit" not in str(seen.result)
    assert os.stat(root).st_uid == os.geteuid()
