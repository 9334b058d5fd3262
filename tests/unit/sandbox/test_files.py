"""Copying a tree the code controls: only directories and regular files, never through a link,
bounded in entries, depth and bytes.
"""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from harmony_agent.sandbox import _files
from harmony_agent.sandbox._errors import CopyError, CopyLimitExceeded
from harmony_agent.sandbox._files import CopiedTree, CopyLimits, copy_tree
from harmony_agent.sandbox._launch import NOBODY


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A host directory the copied tree must never reach, with a secret file in it."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "secret.txt").write_text("TOPSECRET", encoding="utf-8")
    return directory


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """The tree to copy (empty)."""
    directory = tmp_path / "source"
    directory.mkdir()
    return directory


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """Where the copy goes (empty)."""
    directory = tmp_path / "target"
    directory.mkdir()
    return directory


def tree(root: Path) -> dict[str, str | None]:
    """Every entry below `root` without following links: a file's text, None for a directory."""
    found: dict[str, str | None] = {}
    for directory, names, files in os.walk(root):
        for name in names + files:
            path = Path(directory, name)
            assert not path.is_symlink(), f"{path} is a link"
            key = str(path.relative_to(root))
            found[key] = None if path.is_dir() else path.read_text(encoding="utf-8")
    return found


def nest(root: Path, depth: int) -> Iterator[Path]:
    """`root`, then `root/d1`, `root/d1/d2`... down to `depth` directories."""
    directory = root
    yield directory
    for level in range(1, depth + 1):
        directory = directory / f"d{level}"
        directory.mkdir()
        yield directory


async def test_directories_and_files_are_copied_with_their_modes_and_times(
    source: Path, target: Path
) -> None:
    (source / "a.txt").write_text("alpha", encoding="utf-8")
    (source / "run.sh").write_text("echo", encoding="utf-8")
    (source / "run.sh").chmod(0o755)
    (source / "sub" / "deeper").mkdir(parents=True)
    (source / "sub" / "deeper" / "b.txt").write_text("beta", encoding="utf-8")
    (source / "empty").mkdir()
    os.utime(source / "a.txt", ns=(1_000_000_000, 2_000_000_000))

    copied = await copy_tree(source, target)

    assert copied == CopiedTree(files=3, directories=3, bytes=13, skipped={})
    assert copied.skipped_summary() is None
    assert tree(target) == {
        "a.txt": "alpha",
        "run.sh": "echo",
        "sub": None,
        "sub/deeper": None,
        "sub/deeper/b.txt": "beta",
        "empty": None,
    }
    assert stat.S_IMODE((target / "run.sh").stat().st_mode) == 0o755
    assert (target / "a.txt").stat().st_mtime_ns == 2_000_000_000


async def test_links_at_every_level_are_skipped(source: Path, target: Path, outside: Path) -> None:
    for level, directory in enumerate(nest(source, 3)):
        (directory / f"file{level}.txt").write_text(str(level), encoding="utf-8")
        (directory / "secret.txt").symlink_to(outside / "secret.txt")
        (directory / "outside").symlink_to(outside)
        (directory / "root").symlink_to("/")
        (directory / "sibling.txt").symlink_to(f"file{level}.txt")
        (directory / "dangling").symlink_to(outside / "missing")

    copied = await copy_tree(source, target)

    assert tree(target) == {
        "file0.txt": "0",
        "d1": None,
        "d1/file1.txt": "1",
        "d1/d2": None,
        "d1/d2/file2.txt": "2",
        "d1/d2/d3": None,
        "d1/d2/d3/file3.txt": "3",
    }
    assert copied.skipped == {"symbolic link": 20}
    assert copied.skipped_summary() == "20 symbolic links"


async def test_a_link_swapped_in_after_the_listing_is_not_followed(
    source: Path, target: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for directory in nest(source, 2):
        (directory / "secret.txt").symlink_to(outside / "secret.txt")
        (directory / "outside").symlink_to(outside)
    # The listing sees a regular file where each link is: the link came between it and the open.
    patch_os(monkeypatch, stat=lambda real, *args, **kwargs: regular(real(*args, **kwargs)))

    copied = await copy_tree(source, target)

    assert tree(target) == {"d1": None, "d1/d2": None}
    assert copied.skipped == {"symbolic link": 6}


async def test_fifos_sockets_and_hard_links_are_skipped(
    source: Path, target: Path, outside: Path
) -> None:
    os.mkfifo(source / "pipe")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(source / "sock"))
    os.link(outside / "secret.txt", source / "linked.txt")
    (source / "plain.txt").write_text("plain", encoding="utf-8")
    try:
        async with asyncio.timeout(30):  # a fifo opened for reading would block forever
            copied = await copy_tree(source, target)
    finally:
        listener.close()
    assert tree(target) == {"plain.txt": "plain"}
    assert copied.skipped == {"fifo": 1, "socket": 1, "hard link": 1}
    assert copied.skipped_summary() == "1 fifo, 1 hard link, 1 socket"


async def test_a_fifo_swapped_in_after_the_listing_is_opened_without_blocking(
    source: Path, target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.mkfifo(source / "pipe")
    patch_os(monkeypatch, stat=lambda real, *args, **kwargs: regular(real(*args, **kwargs)))
    async with asyncio.timeout(30):
        copied = await copy_tree(source, target)
    assert tree(target) == {}
    assert copied.skipped == {"fifo": 1}


@pytest.mark.skipif(os.geteuid() != 0, reason="handing files to another uid needs root")
async def test_copies_belong_to_the_owner_given(source: Path, target: Path) -> None:
    (source / "sub").mkdir()
    (source / "sub" / "a.txt").write_text("a", encoding="utf-8")
    await copy_tree(source, target, owner=NOBODY)
    for path in (target / "sub", target / "sub" / "a.txt"):
        info = path.stat()
        assert (info.st_uid, info.st_gid) == (NOBODY, NOBODY)


async def test_a_link_waiting_in_the_target_is_not_written_through(
    source: Path, target: Path, outside: Path
) -> None:
    (source / "secret.txt").write_text("overwritten", encoding="utf-8")
    (target / "secret.txt").symlink_to(outside / "secret.txt")
    with pytest.raises(CopyError, match="File exists"):
        await copy_tree(source, target)
    assert (outside / "secret.txt").read_text(encoding="utf-8") == "TOPSECRET"


async def test_more_entries_than_the_bound_fail(source: Path, target: Path, tmp_path: Path) -> None:
    (source / "sub").mkdir()
    for number in range(5):
        (source / "sub" / str(number)).touch()
    (source / "link").symlink_to("sub")  # skipped entries count too: 7 in all
    with pytest.raises(CopyLimitExceeded, match=r"^more than 6 files and directories$"):
        await copy_tree(source, target, limits=CopyLimits(entries=6))
    (tmp_path / "enough").mkdir()
    assert (await copy_tree(source, tmp_path / "enough", limits=CopyLimits(entries=7))).files == 5


async def test_a_tree_deeper_than_the_bound_fails(
    source: Path, target: Path, tmp_path: Path
) -> None:
    *_, deepest = nest(source, 4)
    (deepest / "bottom.txt").touch()
    with pytest.raises(CopyLimitExceeded, match=r"^directories nested deeper than 3$"):
        await copy_tree(source, target, limits=CopyLimits(depth=3))
    (tmp_path / "enough").mkdir()
    copied = await copy_tree(source, tmp_path / "enough", limits=CopyLimits(depth=4))
    assert (copied.directories, copied.files) == (4, 1)


async def test_a_sparse_file_past_the_file_bound_fails_before_it_is_read(
    source: Path, target: Path
) -> None:
    (source / "sub").mkdir()
    with (source / "sub" / "huge").open("wb") as huge:
        huge.truncate(1 << 36)  # 64 GiB of nothing: reading it would take minutes
    with pytest.raises(CopyLimitExceeded, match=r"^a file larger than 256 MiB \(sub/huge\)$"):
        await copy_tree(source, target)
    assert not (target / "sub" / "huge").exists()


async def test_files_past_the_total_bound_fail(source: Path, target: Path) -> None:
    (source / "a").write_bytes(b"123456")
    (source / "b").write_bytes(b"123456")
    with pytest.raises(CopyLimitExceeded, match=r"^more than 10 bytes of files$"):
        await copy_tree(source, target, limits=CopyLimits(total_bytes=10))


async def test_a_file_that_grows_past_the_bound_while_it_is_read_fails(
    source: Path, target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (source / "growing").write_bytes(b"x" * 100)
    # fstat saw it empty: it grew between the fstat and the read.
    patch_os(monkeypatch, fstat=lambda real, fd: shrunk(real(fd)))
    with pytest.raises(CopyLimitExceeded, match=r"^a file larger than 10 bytes \(growing\)$"):
        await copy_tree(source, target, limits=CopyLimits(file_bytes=10))


def patch_os(monkeypatch: pytest.MonkeyPatch, **lies: Callable[..., Any]) -> None:
    """Gives the copying module an `os` whose named functions lie about the files: each lie
    gets the real function and its arguments.
    """
    fake = types.SimpleNamespace(**vars(os))
    for name, lie in lies.items():
        real = getattr(os, name)
        setattr(
            fake, name, lambda *args, _lie=lie, _real=real, **kwargs: _lie(_real, *args, **kwargs)
        )
    monkeypatch.setattr(_files, "os", fake)


class _Stat:
    """A stat result with some fields changed."""

    def __init__(self, real: os.stat_result, **fields: int) -> None:
        self._real = real
        self._fields = fields

    def __getattr__(self, name: str) -> Any:
        return self._fields.get(name, getattr(self._real, name))


def regular(real: os.stat_result) -> Any:
    """`real` as if it were a regular file."""
    return _Stat(real, st_mode=stat.S_IFREG | 0o644) if not stat.S_ISDIR(real.st_mode) else real


def shrunk(real: os.stat_result) -> Any:
    """`real` as if it were empty."""
    return _Stat(real, st_size=0)
