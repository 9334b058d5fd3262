"""Copying a directory tree that sandboxed code controls, without following it anywhere.

The code can change its tree while the host reads it: put a symbolic link where a file or a
directory was (to a host file, or to `/`), leave fifos that block a reader, sockets, hard
links to files it could not read, or more files than any copy should take. So the host walks
the tree through directory fds and opens each entry relative to its directory with O_NOFOLLOW
and O_NONBLOCK; only what `fstat` of the open fd shows to be a directory or a regular file
with one link is copied. Everything else is skipped and counted by kind. The walk is bounded
(entries, depth, bytes per file, bytes in all) and fails with `CopyLimitExceeded` past a
bound. Copies are created through the target directory's fd with O_EXCL and O_NOFOLLOW,
then handed to the sandbox's uid with `fchown`; files are read in chunks of 1 MiB.
`write_files` creates given files in a working directory the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import stat
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harmony_agent.sandbox._errors import CopyError, CopyLimitExceeded

__all__ = [
    "CopiedTree",
    "CopyLimits",
    "copy_in",
    "copy_tree",
    "copy_tree_now",
    "write_all",
    "write_files",
]

_CHUNK = 1 << 20
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
_SKIPPED_BY_ERRNO = {
    errno.ELOOP: "symbolic link",  # it became one after it was listed
    errno.ENXIO: "socket",
    errno.EACCES: "unreadable file",
}


@dataclass(frozen=True)
class CopyLimits:
    """Bounds of one copy; past any of them it fails with `CopyLimitExceeded`."""

    entries: int = 10_000
    """Directory entries seen (copied or skipped)."""
    depth: int = 64
    """Directories nested in one another below the copied one."""
    file_bytes: int = 256 << 20
    """Bytes of one file."""
    total_bytes: int = 1 << 30
    """Bytes of all files together."""


@dataclass(frozen=True)
class CopiedTree:
    """What a copy did: the files, directories and bytes copied, and how many entries of each
    kind it skipped (`symbolic link`, `fifo`, `socket`, `device`, `hard link`...).
    """

    files: int
    directories: int
    bytes: int
    skipped: Mapping[str, int] = field(default_factory=dict)

    def skipped_summary(self) -> str | None:
        """E.g. "1 fifo, 4 symbolic links" (by kind); None when nothing was skipped."""
        if not self.skipped:
            return None
        return ", ".join(
            f"{count} {kind}{'s' if count != 1 else ''}"
            for kind, count in sorted(self.skipped.items())
        )


async def copy_tree(
    source: Path, target: Path, *, limits: CopyLimits | None = None, owner: int | None = None
) -> CopiedTree:
    """Copies what directory `source` holds into the existing directory `target`; with `owner`,
    every copy is owned by that uid and gid. `source` and `target` themselves must be paths
    the code cannot change (like a sandbox's working directory, whose parent belongs to the
    host); what they hold may change during the copy.

    Runs in a thread; a cancelled copy stops at its next entry or chunk. Raises
    `CopyLimitExceeded` past a bound of `limits` (default `CopyLimits()`) and `CopyError`
    when the host fails; either leaves part of the tree copied.
    """
    stop = threading.Event()
    try:
        return await asyncio.to_thread(copy_tree_now, source, target, limits, owner, stop)
    finally:
        stop.set()


def copy_in(files: Sequence[Path], target: Path, *, owner: int | None = None) -> None:
    """Copies each of the host's `files` (files or directories: the developer's, so links
    are followed) into the directory `target` under its own name; with `owner`, owned by
    that uid and gid. Blocking.
    """
    for source in files:
        copy = target / source.name
        if source.is_dir():
            shutil.copytree(source, copy)
        else:
            shutil.copy2(source, copy)
        if owner is not None:
            for path in [copy, *(copy.rglob("*") if copy.is_dir() else ())]:
                os.chown(path, owner, owner)


def write_files(target: Path, files: Mapping[str, bytes], *, owner: int | None = None) -> None:
    """Creates each file of `files` (relative path: content) in the directory `target`, and
    the directories on its path, as new entries through directory fds that follow no link;
    with `owner`, owned by that uid and gid. Blocking. Raises `CopyError` for a path that is
    absolute, goes up (`..`), names an entry twice or cannot be created.
    """
    with _closing(os.open(target, _DIRECTORY)) as root:
        for name, data in files.items():
            parts = name.split("/")
            if name.startswith("/") or {"", ".", ".."} & set(parts):
                raise CopyError(f"{name!r}: not a relative path inside the working directory")
            try:
                _write_file(root, parts, data, owner)
            except FileExistsError:
                raise CopyError(f"{name!r}: given twice (or as a file and a directory)") from None
            except OSError as error:
                raise CopyError(f"{name!r}: {error.strerror}") from error


def _write_file(root: int, parts: list[str], data: bytes, owner: int | None) -> None:
    """Creates the file at `parts` below the directory `root`, its directories included."""
    *folders, base = parts
    fd = os.dup(root)
    try:
        for folder in folders:
            with contextlib.suppress(FileExistsError):
                os.mkdir(folder, 0o755, dir_fd=fd)
                if owner is not None:
                    os.chown(folder, owner, owner, dir_fd=fd, follow_symlinks=False)
            fd, parent = os.open(folder, _DIRECTORY, dir_fd=fd), fd
            os.close(parent)
        with _closing(os.open(base, _CREATE, 0o644, dir_fd=fd)) as created:
            write_all(created, data)
            if owner is not None:
                os.fchown(created, owner, owner)
    finally:
        os.close(fd)


def copy_tree_now(
    source: Path,
    target: Path,
    limits: CopyLimits | None = None,
    owner: int | None = None,
    stop: threading.Event | None = None,
) -> CopiedTree:
    """`copy_tree`, blocking (for a caller in a thread); it stops once `stop` is set."""
    walk = _Walk(limits or CopyLimits(), owner, stop or threading.Event())
    try:
        with (
            _closing(os.open(source, _DIRECTORY)) as source_fd,
            _closing(os.open(target, _DIRECTORY)) as target_fd,
        ):
            walk.directory(source_fd, target_fd, depth=0, path="")
    except OSError as error:
        raise CopyError(f"copying {source} failed: {error}") from error
    return CopiedTree(walk.files, walk.directories, walk.bytes, dict(walk.skipped))


class _Walk:
    """One copy's progress: what it copied and skipped, checked against its limits."""

    def __init__(self, limits: CopyLimits, owner: int | None, stop: threading.Event) -> None:
        self.limits = limits
        self.owner = owner
        self.stop = stop
        self.entries = 0
        self.files = 0
        self.directories = 0
        self.bytes = 0
        self.skipped: Counter[str] = Counter()

    def directory(self, source: int, target: int, *, depth: int, path: str) -> None:
        """Copies the entries of the open directory `source` into the open `target`."""
        for name in self._names(source):
            self._entry(source, target, name, depth=depth, path=f"{path}{name}")

    def _names(self, source: int) -> list[str]:
        names: list[str] = []
        with os.scandir(source) as entries:
            for entry in entries:
                self.entries += 1
                if self.entries > self.limits.entries:
                    raise CopyLimitExceeded(
                        f"more than {self.limits.entries:,} files and directories"
                    )
                names.append(entry.name)
        return names

    def _entry(self, parent: int, target: int, name: str, *, depth: int, path: str) -> None:
        self._go_on()
        try:
            listed = os.stat(name, dir_fd=parent, follow_symlinks=False)
            if not _copyable(listed.st_mode):  # never open a fifo or a device
                self.skipped[_kind(listed.st_mode)] += 1
                return
            fd = os.open(name, _READ, dir_fd=parent)
        except FileNotFoundError:  # removed since it was listed
            return
        except OSError as error:
            if error.errno not in _SKIPPED_BY_ERRNO:
                raise
            self.skipped[_SKIPPED_BY_ERRNO[error.errno]] += 1
            return
        with _closing(fd):
            opened = os.fstat(fd)
            if stat.S_ISDIR(opened.st_mode):
                self._directory(fd, target, name, opened, depth=depth + 1, path=path)
            elif stat.S_ISREG(opened.st_mode) and opened.st_nlink == 1:
                self._file(fd, target, name, opened, path)
            else:
                self.skipped[_kind(opened.st_mode, opened.st_nlink)] += 1

    def _directory(
        self, source: int, parent: int, name: str, info: os.stat_result, *, depth: int, path: str
    ) -> None:
        if depth > self.limits.depth:
            raise CopyLimitExceeded(f"directories nested deeper than {self.limits.depth}")
        os.mkdir(name, 0o700, dir_fd=parent)
        with _closing(os.open(name, _DIRECTORY, dir_fd=parent)) as target:
            self.directory(source, target, depth=depth, path=f"{path}/")
            self.directories += 1
            self._finish(target, info)

    def _file(self, source: int, parent: int, name: str, info: os.stat_result, path: str) -> None:
        self._count_bytes(info.st_size, info.st_size, path)  # fail before reading a bomb
        with _closing(os.open(name, _CREATE, 0o600, dir_fd=parent)) as target:
            size = 0
            while chunk := os.read(source, _CHUNK):
                self._go_on()
                size += len(chunk)
                self._count_bytes(size, len(chunk), path)
                self.bytes += len(chunk)
                write_all(target, chunk)
            self.files += 1
            self._finish(target, info)

    def _count_bytes(self, file_size: int, more: int, path: str) -> None:
        """Fails if a file of `file_size` bytes, or `more` bytes past those copied, is too much."""
        if file_size > self.limits.file_bytes:
            raise CopyLimitExceeded(
                f"a file larger than {_amount(self.limits.file_bytes)} ({path})"
            )
        if self.bytes + more > self.limits.total_bytes:
            raise CopyLimitExceeded(f"more than {_amount(self.limits.total_bytes)} of files")

    def _go_on(self) -> None:
        if self.stop.is_set():
            raise CopyError("the copy was cancelled")

    def _finish(self, fd: int, info: os.stat_result) -> None:
        """Gives the copy its owner, then the source's permission bits and times."""
        if self.owner is not None:
            os.fchown(fd, self.owner, self.owner)
        os.fchmod(fd, info.st_mode & 0o777)  # never set-id bits
        os.utime(fd, ns=(info.st_atime_ns, info.st_mtime_ns))


@contextlib.contextmanager
def _closing(fd: int) -> Iterator[int]:
    """Closes `fd` when the block ends."""
    try:
        yield fd
    finally:
        os.close(fd)


def _copyable(mode: int) -> bool:
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode)


def _kind(mode: int, links: int = 1) -> str:
    """The name of an entry that is not copied."""
    if stat.S_ISREG(mode) and links > 1:
        return "hard link"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _amount(size: int) -> str:
    return f"{size >> 20:,} MiB" if size >= 1 << 20 else f"{size:,} bytes"


def write_all(fd: int, data: bytes) -> None:
    """Writes all of `data` to `fd` (a write may stop short)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
