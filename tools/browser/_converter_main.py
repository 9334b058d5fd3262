"""The page converter's worker process: downloads in, pages out, over its stdin and stdout.

Started by `_converter` (as `python -P -m harmony_agent.tools.browser._converter_main
PARENT_PID` would, without the package imports above this module), which kills it when a
conversion runs out of time. Every message is a frame: an 8-byte big-endian length, then that
many bytes. A request is two frames, a JSON header (url, media_type, charset, view_source,
max_chars) and the body; the answer is one JSON frame, the page and its wrapped lines, or an
error for the model. The worker writes `READY` once it has imported the converters, and ends
when its stdin closes or its parent dies.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import struct
import sys
import warnings
from typing import Any, BinaryIO

from harmony_agent.tools.browser._content import Download, to_page
from harmony_agent.tools.browser._errors import OpenError

__all__ = ["FRAME_HEADER", "READY", "main"]

FRAME_HEADER = struct.Struct(">Q")
"""A frame's length, before its bytes."""
READY = b"ready"
"""What the worker writes, unframed, when it is ready for requests."""
_PR_SET_PDEATHSIG = 1


def main() -> None:
    """Serves conversion requests until stdin closes."""
    libc = ctypes.CDLL(None, use_errno=True)
    _die_with_parent(libc, int(sys.argv[1]))
    logging.disable(logging.CRITICAL)  # trafilatura logs about the pages it reads
    warnings.simplefilter("ignore")
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # stray prints go nowhere
    requests = sys.stdin.buffer
    replies.write(READY)
    replies.flush()
    while (header := _read_frame(requests)) is not None:
        body = _read_frame(requests)
        if body is None:
            return
        reply = _convert(json.loads(header), body)
        replies.write(FRAME_HEADER.pack(len(reply)) + reply)
        replies.flush()
        del header, body, reply
        _release_memory(libc)


def _release_memory(libc: ctypes.CDLL) -> None:
    """Hands the memory of the last page back to the system (glibc keeps freed memory: after
    an 8 MB page a worker held 290 MB instead of 90).
    """
    trim = getattr(libc, "malloc_trim", None)  # glibc only
    if trim is not None:
        trim(0)


def _convert(request: dict[str, Any], body: bytes) -> bytes:
    download = Download(
        url=request["url"], media_type=request["media_type"], charset=request["charset"], body=body
    )
    try:
        page = to_page(download, max_chars=request["max_chars"], view_source=request["view_source"])
    except OpenError as error:
        return json.dumps({"error": error.reason}).encode()
    except Exception as error:  # a parser's bug met on hostile input: this page is unreadable
        reason = f"it could not be read ({type(error).__name__}: {error})."
        return json.dumps({"error": reason}).encode()
    lines_json = json.dumps(page.lines, ensure_ascii=False)
    return f'{{"page": {page.model_dump_json()}, "lines": {lines_json}}}'.encode()


def _read_frame(stream: BinaryIO) -> bytes | None:
    header = stream.read(FRAME_HEADER.size)
    if len(header) < FRAME_HEADER.size:
        return None
    (length,) = FRAME_HEADER.unpack(header)
    data = stream.read(length)
    return data if len(data) == length else None


def _die_with_parent(libc: ctypes.CDLL, parent: int) -> None:
    """Asks Linux to kill this process when its parent dies (elsewhere: stdin's end stops it)."""
    if sys.platform != "linux":
        return
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


if __name__ == "__main__":
    main()
