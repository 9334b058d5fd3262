"""Collects a cell's output from the kernel's iopub messages, within a size budget."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmony_agent.sandbox._files import write_all

__all__ = ["MAX_IMAGES", "BoundedText", "ImageFiles", "OutputCollector", "strip_ansi"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}
MAX_IMAGES = 20
"""The most images one execution saves; the others are noted, not saved."""


def strip_ansi(text: str) -> str:
    """Removes terminal colour and cursor codes (IPython colours its tracebacks)."""
    return _ANSI.sub("", text)


class BoundedText:
    """Text kept within `limit` characters: the first three quarters of the budget from the
    head, the last quarter from the tail, and a note of how much was cut between them.
    """

    def __init__(self, limit: int) -> None:
        self._head_limit = limit - limit // 4
        self._tail_limit = limit // 4
        self._head: list[str] = []
        self._head_size = 0
        self._tail = ""
        self._cut = 0

    def add(self, text: str) -> None:
        """Appends `text`."""
        room = self._head_limit - self._head_size
        if room > 0:
            self._head.append(text[:room])
            self._head_size += min(room, len(text))
            text = text[room:]
        if text:
            tail = self._tail + text
            self._cut += max(len(tail) - self._tail_limit, 0)
            self._tail = tail[-self._tail_limit :] if self._tail_limit else ""

    @property
    def cut(self) -> int:
        """How many characters were dropped."""
        return self._cut

    def text(self) -> str:
        """The kept text, with a note where characters were dropped."""
        head = "".join(self._head)
        if not self._cut:
            return head + self._tail
        return f"{head}\n[... {self._cut} characters cut ...]\n{self._tail}"


@dataclass(frozen=True)
class ImageFiles:
    """Where a kernel's images go: each is saved twice, as `image-N.EXT`. The copy in `host`
    (a directory the code cannot see) is the one the host and its users read. The copy in
    `work` (the code's working directory) is for the code, which can change that directory:
    it is a new file made through the directory's fd, never following a link and never
    replacing a name that exists, owned by `owner` (the sandbox uid) where given.
    """

    host: Path
    work: Path
    owner: int | None

    def save(self, name: str, data: bytes) -> Path:
        """Saves one image under `name`; returns the host's copy. Raises `OSError`
        (`FileExistsError` where the code took the name) and saves nothing then.
        """
        path = self.host / name
        path.write_bytes(data)
        try:
            _write_new_file(self.work, name, data, self.owner)
        except OSError:
            path.unlink()
            raise
        return path


class OutputCollector:
    """Sorts one execution's iopub messages into streams, result, error and image files
    (`image-N.EXT`, numbered across the kernel's life, at most `MAX_IMAGES` per execution).
    Malformed output is noted in stderr, never raised.
    """

    def __init__(self, limit: int, images: ImageFiles, first_image: int) -> None:
        self.stdout = BoundedText(limit)
        self.stderr = BoundedText(limit)
        self.result: BoundedText | None = None
        self.error: BoundedText | None = None
        self.images: list[Path] = []
        self._limit = limit
        self._files = images
        self._next_image = first_image

    @property
    def next_image(self) -> int:
        """The number the next image file will get."""
        return self._next_image

    def add(self, kind: str, content: Mapping[str, Any]) -> None:
        """Takes one iopub message (its `msg_type` and `content`)."""
        if kind == "stream":
            stream = self.stderr if content.get("name") == "stderr" else self.stdout
            stream.add(str(content.get("text", "")))
        elif kind in ("execute_result", "display_data"):
            data = content.get("data")
            if isinstance(data, Mapping):
                self._add_data(kind, data)
        elif kind == "error":
            self.error = BoundedText(self._limit)
            traceback = content.get("traceback")
            lines = traceback if isinstance(traceback, list) else []
            text = "\n".join(map(str, lines)) or f"{content.get('ename')}: {content.get('evalue')}"
            self.error.add(strip_ansi(text))

    def add_payloads(self, content: Mapping[str, Any]) -> None:
        """Takes the pages of an execute reply's `content` (what `name?`, `%pinfo` and
        `%page` show in a frontend's pager) as output.
        """
        payloads = content.get("payload")
        for payload in payloads if isinstance(payloads, list) else []:
            if not isinstance(payload, Mapping) or payload.get("source") != "page":
                continue
            data = payload.get("data")
            text = data.get("text/plain") if isinstance(data, Mapping) else None
            if isinstance(text, str):
                self.stdout.add(strip_ansi(text).rstrip("\n") + "\n")

    def _add_data(self, kind: str, data: Mapping[str, Any]) -> None:
        for mime, extension in _IMAGE_TYPES.items():
            if mime in data:
                self._add_image(data[mime], extension)
                return
        text = data.get("text/plain")
        if text is None:
            return
        if kind == "execute_result":
            self.result = BoundedText(self._limit)
            self.result.add(strip_ansi(str(text)))
        else:
            self.stdout.add(strip_ansi(str(text)) + "\n")

    def _add_image(self, encoded: object, extension: str) -> None:
        if len(self.images) == MAX_IMAGES:
            self.stderr.add(f"[image not saved: one execution saves at most {MAX_IMAGES}]\n")
            return
        name = f"image-{self._next_image}.{extension}"
        self._next_image += 1
        try:
            if not isinstance(encoded, str):
                raise ValueError("not base64 text")
            self.images.append(self._files.save(name, base64.b64decode(encoded)))
        except (ValueError, OSError) as error:  # binascii.Error is a ValueError
            reason = "the name is taken" if isinstance(error, FileExistsError) else error
            self.stderr.add(f"[image {name} not saved: {reason}]\n")


def _write_new_file(directory: Path, name: str, data: bytes, owner: int | None) -> None:
    """Writes `data` to a new file `name` in `directory`, through the directory's fd: no
    link is followed and nothing that exists is replaced.
    """
    folder = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        file = os.open(name, flags, 0o644, dir_fd=folder)
        try:
            if owner is not None:
                os.fchown(file, owner, owner)
            write_all(file, data)
        finally:
            os.close(file)
    finally:
        os.close(folder)
