"""Reading the text files a config names (the config itself, instructions, engine scripts):
regular files only, within a size bound, as UTF-8.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from harmony_agent._errors import ConfigError

__all__ = ["MAX_TEXT_FILE_BYTES", "read_text_file"]

MAX_TEXT_FILE_BYTES = 16 << 20
"""The largest text file a config may name."""


def read_text_file(path: Path, name: str | None = None) -> str:
    """The text of the regular file at `path`; raises `ConfigError` for anything else (a
    device, a fifo, a directory, a file over `MAX_TEXT_FILE_BYTES`, text that is not UTF-8),
    naming the file as `name` (default: its path).
    """
    name = name or str(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise ConfigError(f"cannot read {name}: {error.strerror}") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ConfigError(f"cannot read {name}: it is not a regular file")
    with os.fdopen(descriptor, "rb") as file:
        data = file.read(MAX_TEXT_FILE_BYTES + 1)
    if len(data) > MAX_TEXT_FILE_BYTES:
        raise ConfigError(f"cannot read {name}: it is larger than {MAX_TEXT_FILE_BYTES >> 20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"cannot read {name}: not UTF-8 text ({error.reason})") from None
