"""A tee on file descriptor 2 that keeps the tail of what child processes write there.

An engine whose work runs in child processes (vLLM's engine core) logs the cause of a failed
start only to its stderr; the parent sees an exit code. While the tee is installed, processes
started by this one inherit a pipe as their stderr; a thread copies everything to the real
stderr and keeps the last bytes, so the parent can tell what went wrong.
"""

from __future__ import annotations

import os
import threading
from collections import deque

__all__ = ["StderrTail"]


class StderrTail:
    """Installs the tee on creation; `release()` gives fd 2 back to this process while the
    children keep writing through the pipe; `close()` waits for them to be gone.
    """

    def __init__(self, keep_bytes: int = 65536) -> None:
        self._keep = keep_bytes
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._lock = threading.Lock()
        read_end, write_end = os.pipe()
        self._original = os.dup(2)
        os.dup2(write_end, 2)
        os.close(write_end)
        self._released = False
        self._thread = threading.Thread(
            target=self._copy, args=(read_end,), name="stderr-tail", daemon=True
        )
        self._thread.start()

    def _copy(self, read_end: int) -> None:
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                os.write(self._original, chunk)
                with self._lock:
                    self._chunks.append(chunk)
                    self._size += len(chunk)
                    while self._size - len(self._chunks[0]) >= self._keep:
                        self._size -= len(self._chunks.popleft())

    def text(self) -> str:
        """The last bytes written to the pipe, as text."""
        with self._lock:
            return b"".join(self._chunks).decode(errors="replace")[-self._keep :]

    def release(self) -> None:
        """Gives fd 2 back to this process; children started meanwhile keep the pipe."""
        if not self._released:
            self._released = True
            os.dup2(self._original, 2)

    def close(self, timeout: float = 5.0) -> None:
        """Releases fd 2 and waits (up to `timeout`) until every child closed the pipe."""
        self.release()
        self._thread.join(timeout)
        if not self._thread.is_alive():
            os.close(self._original)
