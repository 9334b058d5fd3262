"""Server-sent events read from a stream of bytes, every line and every event bounded in size.

Lines end with CRLF, LF or CR (the three the event-stream format allows), and may be split
anywhere between the chunks the network delivers. A line, or an event's data, larger than the
bound fails as soon as that many bytes have arrived, so nothing larger is ever buffered.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterable

from harmony_agent._errors import InvalidEngineOutput

__all__ = ["sse_data"]

_LINE_END = re.compile(rb"\r\n|\r|\n")


async def sse_data(chunks: AsyncIterable[bytes], *, max_bytes: int) -> AsyncGenerator[str, None]:
    """Yields the data of each event in `chunks` (its `data:` lines joined by newlines, decoded
    as UTF-8). Raises `InvalidEngineOutput` when a line or an event's data is longer than
    `max_bytes`.
    """
    data: list[bytes] = []
    size = 0
    async for line in _lines(chunks, max_bytes):
        if not line:
            if data:
                yield _text(data)
                data, size = [], 0
            continue
        field, _, value = line.partition(b":")
        if field == b"data":
            value = value.removeprefix(b" ")
            size += len(value) + 1
            if size > max_bytes:
                raise InvalidEngineOutput(
                    f"the server sent an event of more than {max_bytes} bytes"
                )
            data.append(value)
        # comments (`:`) and the `event`, `id`, `retry` fields carry nothing a completion needs
    if data:
        yield _text(data)


async def _lines(chunks: AsyncIterable[bytes], max_bytes: int) -> AsyncGenerator[bytes, None]:
    """The lines of `chunks`, without their line ends; a last line without one included."""
    pending = bytearray()
    after_cr = False  # the last line ended with a CR that may be the first half of a CRLF
    async for chunk in chunks:
        if after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        if not chunk:
            continue
        after_cr = False
        searched = len(pending)
        pending += chunk
        start = 0
        for end in _LINE_END.finditer(pending, searched):
            if end.start() - start > max_bytes:
                raise _too_long(max_bytes)
            yield bytes(pending[start : end.start()])
            start = end.end()
            after_cr = end.group() == b"\r" and start == len(pending)
        del pending[:start]
        if len(pending) > max_bytes:
            raise _too_long(max_bytes)
    if pending:
        yield bytes(pending)


def _too_long(max_bytes: int) -> InvalidEngineOutput:
    return InvalidEngineOutput(f"the server sent a line of more than {max_bytes} bytes")


def _text(data: list[bytes]) -> str:
    return b"\n".join(data).decode("utf-8", errors="replace")
