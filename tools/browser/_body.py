"""A response body, read within a size limit with every content coding undone as a stream.

httpx inflates each chunk it receives in one piece: a few kilobytes of `Content-Encoding:
gzip, gzip` became gigabytes before a caller saw the first byte. Here the raw body is read and
each coding is undone by a decompressor that returns at most `_PIECE` bytes at a time, so that
no stage, from the bytes received to the decoded document, grows beyond the limit.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

import httpx
from harmony_agent.tools.browser._errors import OpenError

__all__ = ["ACCEPT_ENCODING", "MAX_CODINGS", "read_body"]

_CODINGS = frozenset({"gzip", "x-gzip", "deflate"})
ACCEPT_ENCODING = "gzip, deflate"
"""The codings the browser asks for: exactly those it decodes (httpx would add `br` and
`zstd` when their optional packages are installed, with no bound on their output)."""
MAX_CODINGS = 3
"""Codings undone at most for one body (servers apply one; `gzip, gzip` is a known bomb)."""
_PIECE = 64 * 1024  # the most a decompressor hands out at once
_SLICE = 4096  # the most input a decompressor is given at once
_GZIP = 16 + zlib.MAX_WBITS  # zlib's wbits for gzip data


async def read_body(response: httpx.Response, url: str, limit: int) -> bytes:
    """The decoded body of `response`, or `OpenError` as soon as the body as received, or
    after undoing any of its codings, is larger than `limit` bytes.
    """
    too_large = OpenError(url, f"the document is larger than {limit} bytes.")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    codings = _codings(response, url)
    decoders = [_Decoder(coding, url) for coding in reversed(codings)]
    sizes = [0] * (len(decoders) + 1)  # bytes received, then bytes out of each decoder
    body = bytearray()
    async for chunk in response.aiter_raw():
        pieces: Iterable[bytes] = [chunk]
        for stage, decoder in enumerate([None, *decoders]):
            if decoder is not None:
                pieces = decoder.decode(pieces)
            pieces = _counted(pieces, sizes, stage, limit, too_large)
        for piece in pieces:
            body += piece
    return bytes(body)


def _codings(response: httpx.Response, url: str) -> list[str]:
    """The codings of the body in the order they were applied; `OpenError` for unknown ones."""
    listed = response.headers.get_list("content-encoding", split_commas=True)
    codings = [name for name in (value.strip().lower() for value in listed) if name]
    codings = [name for name in codings if name != "identity"]
    for coding in codings:
        if coding not in _CODINGS:
            raise OpenError(
                url, f"its body is encoded with `{coding}`, which the browser cannot decode."
            )
    if len(codings) > MAX_CODINGS:
        raise OpenError(
            url,
            f"its body is encoded {len(codings)} times; the browser undoes at most "
            f"{MAX_CODINGS} codings.",
        )
    return codings


def _counted(
    pieces: Iterable[bytes], sizes: list[int], stage: int, limit: int, too_large: OpenError
) -> Iterator[bytes]:
    for piece in pieces:
        sizes[stage] += len(piece)
        if sizes[stage] > limit:
            raise too_large
        yield piece


class _Decoder:
    """Undoes one coding, handing out at most `_PIECE` bytes at a time.

    `deflate` is zlib-wrapped data as the standard says, or raw deflate as some servers send
    it, told apart by the zlib header. A gzip body may hold several members (concatenated
    files). Bytes after the end of the data are ignored, and so is data cut short.
    """

    def __init__(self, coding: str, url: str) -> None:
        self._coding = coding
        self._url = url
        self._inflater: zlib._Decompress | None = None
        if coding != "deflate":
            self._inflater = zlib.decompressobj(_GZIP)
        self._head = b""  # deflate: the first bytes, until the header tells which kind
        self._new_member = False  # gzip: what follows a member may be another one, or junk
        self._done = False

    def decode(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The decoded data of `chunks`, the next part of the encoded body.

        The data goes in `_SLICE` bytes at a time: at the end of each gzip member zlib copies
        the rest of its input, quadratic in the input's size for a body of empty members.
        """
        for chunk in chunks:
            for start in range(0, len(chunk), _SLICE):
                yield from self._decode(chunk[start : start + _SLICE])

    def _decode(self, data: bytes) -> Iterator[bytes]:
        if self._done:
            return
        if self._inflater is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            wbits = zlib.MAX_WBITS if _is_zlib(data) else -zlib.MAX_WBITS
            self._inflater = zlib.decompressobj(wbits)
        while True:
            inflater = self._inflater
            try:
                piece = inflater.decompress(data, _PIECE)
            except zlib.error as error:
                if self._new_member:  # not a gzip member: bytes after the end
                    self._done = True
                    return
                raise OpenError(
                    self._url, f"its {self._coding} encoding is corrupt ({error})."
                ) from None
            if piece:
                self._new_member = False
                yield piece
            if inflater.eof:
                if self._coding == "deflate":
                    self._done = True
                    return
                data, self._new_member = inflater.unused_data, True
                self._inflater = zlib.decompressobj(_GZIP)
            else:
                data = inflater.unconsumed_tail
                if len(piece) == _PIECE:
                    continue  # more output may be held back, even with all input taken
            if not data:
                return


def _is_zlib(head: bytes) -> bool:
    """Whether `head` starts with a zlib header (RFC 1950: deflate, a checksum of 31)."""
    return head[0] & 0x0F == zlib.DEFLATED and (head[0] << 8 | head[1]) % 31 == 0
