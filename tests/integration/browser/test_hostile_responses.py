"""Responses built to exhaust the browser: compression bombs in each coding and stacked,
bodies that lie about their size or never end, corrupt and unknown codings.

Memory is measured with tracemalloc around one `open`: the body must be bounded while it is
decoded, not after (a few kilobytes used to inflate to gigabytes before the size check).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from harmony_agent.tools.browser import FetchConfig
from harmony_agent.tools.browser._errors import OpenError
from harmony_agent.tools.browser._session import BrowserSession

from .calls import LOOPBACK, call
from .site import ARTICLE, Reply, Site, encoded, zeros
from .test_fetching import open_with

LIMIT = 1_000_000
SMALL_LIMIT = LOOPBACK.model_copy(update={"max_bytes": LIMIT})


def serve(site: Site, path: str, reply: Reply) -> str:
    site.routes[path] = lambda *_: reply
    return site.url(path)


async def open_measured(config: FetchConfig, url: str) -> tuple[str | OpenError, int]:
    """Opens `url`; returns the view (or the OpenError) and the peak of traced memory."""
    tracemalloc.start()
    try:
        try:
            result: str | OpenError = await open_with(config, url)
        except OpenError as error:
            result = error
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "codings",
    [
        ("gzip",),
        ("x-gzip",),
        ("deflate",),
        ("raw-deflate",),
        ("gzip", "gzip"),
        ("deflate", "gzip"),
        ("gzip", "deflate", "gzip"),
    ],
    ids=",".join,
)
async def test_compression_bombs_are_bounded_while_decoding(
    site: Site, codings: tuple[str, ...]
) -> None:
    body = encoded(zeros(100), *codings)  # 100 MB of zeros in 100 kB or much less
    header = ", ".join("deflate" if coding == "raw-deflate" else coding for coding in codings)
    url = serve(
        site,
        f"/bomb/{'/'.join(codings)}",
        Reply(body=body, content_type="text/plain", headers=(("Content-Encoding", header),)),
    )
    result, peak = await open_measured(SMALL_LIMIT, url)
    assert isinstance(result, OpenError)
    assert "the document is larger than 1000000 bytes" in str(result)
    assert peak < 8 * LIMIT


async def test_a_bomb_streamed_without_a_length_is_bounded(site: Site) -> None:
    body = encoded(zeros(100), "gzip", "gzip")
    reply = Reply(
        chunks=[body[:10], body[10:]],
        content_type="text/plain",
        headers=(("Content-Encoding", "gzip, gzip"),),
    )
    result, peak = await open_measured(SMALL_LIMIT, serve(site, "/bomb/chunked", reply))
    assert isinstance(result, OpenError)
    assert "larger than 1000000 bytes" in str(result)
    assert peak < 8 * LIMIT


async def test_more_codings_than_a_server_would_use_are_refused(site: Site) -> None:
    body = encoded(ARTICLE, "gzip", "gzip", "gzip", "gzip")
    header = ("Content-Encoding", "gzip, gzip, gzip, gzip")
    url = serve(site, "/codings/four", Reply(body=body, headers=(header,)))
    with pytest.raises(OpenError, match="encoded 4 times"):
        await open_with(LOOPBACK, url)


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "rot13"])
async def test_codings_the_browser_does_not_decode_are_refused(site: Site, coding: str) -> None:
    reply = Reply(body=b"\x1b\x00\xf8garbage", headers=(("Content-Encoding", coding),))
    url = serve(site, f"/codings/{coding}", reply)
    with pytest.raises(OpenError, match=f"encoded with `{coding}`, which the browser cannot"):
        await open_with(LOOPBACK, url)


@pytest.mark.parametrize(
    "codings",
    [("gzip",), ("deflate",), ("raw-deflate",), ("gzip", "gzip"), ("identity", "gzip")],
    ids=",".join,
)
async def test_encoded_pages_read_as_before(
    session: BrowserSession, site: Site, codings: tuple[str, ...]
) -> None:
    header = ", ".join("deflate" if coding == "raw-deflate" else coding for coding in codings)
    body = encoded(ARTICLE, *(coding for coding in codings if coding != "identity"))
    url = serve(
        site,
        f"/encoded/{'/'.join(codings)}",
        Reply(body=body, headers=(("Content-Encoding", header),)),
    )
    assert "# Tidal power in 2024" in await call(session, "open", id=url)


async def test_concatenated_gzip_members_are_all_read(session: BrowserSession, site: Site) -> None:
    body = encoded(b"first member, ", "gzip") + encoded(b"second member", "gzip")
    reply = Reply(body=body, content_type="text/plain", headers=(("Content-Encoding", "gzip"),))
    view = await call(session, "open", id=serve(site, "/encoded/members", reply))
    assert "first member, second member" in view


async def test_the_browser_asks_only_for_codings_it_decodes(
    session: BrowserSession, site: Site
) -> None:
    await call(session, "open", id=site.url("/small.html"))
    path, headers = site.requests[-1]
    assert path == "/small.html"
    assert headers["accept-encoding"] == "gzip, deflate"


async def test_corrupt_compressed_data_is_an_open_error(site: Site) -> None:
    body = encoded(ARTICLE, "gzip")
    corrupt = body[:20] + bytes(200) + body[220:]
    reply = Reply(body=corrupt, headers=(("Content-Encoding", "gzip"),))
    with pytest.raises(OpenError, match="its gzip encoding is corrupt"):
        await open_with(LOOPBACK, serve(site, "/encoded/corrupt", reply))


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "until-closed"])
async def test_a_body_that_never_ends_is_cut_at_the_limit(site: Site, chunked: bool) -> None:
    endless = itertools.repeat(b"x" * 65536)
    reply = Reply(chunks=endless, chunked=chunked, content_type="text/plain")
    with pytest.raises(OpenError, match="larger than 1000000 bytes"):
        await open_with(SMALL_LIMIT, serve(site, f"/endless/{chunked}", reply))


async def test_a_declared_length_over_the_limit_is_refused_before_reading(site: Site) -> None:
    reply = Reply(body=b"tiny", content_type="text/plain", headers=(("Content-Length", "9" * 12),))
    with pytest.raises(OpenError, match="larger than 1000000 bytes"):
        await open_with(SMALL_LIMIT, serve(site, "/lying-length", reply))


def drip() -> Iterator[bytes]:
    """One byte every 50 ms, forever: every read succeeds, the body never ends."""
    while True:
        time.sleep(0.05)
        yield b"x"


async def test_a_body_dripping_forever_is_cut_at_the_time_limit(site: Site) -> None:
    config = LOOPBACK.model_copy(update={"timeout_s": 0.5})
    reply = Reply(chunks=drip(), content_type="text/plain")
    with pytest.raises(OpenError, match=r"no complete answer within 0.5 s"):
        await open_with(config, serve(site, "/drip", reply))


async def test_a_body_of_empty_gzip_members_is_read_in_linear_time(
    session: BrowserSession, site: Site
) -> None:
    # zlib copies the rest of its input at the end of every member: fed whole chunks, 10 MB of
    # empty members took minutes.
    empty = encoded(b"", "gzip")
    body = empty * (2_000_000 // len(empty)) + encoded(b"the text at the end", "gzip")
    reply = Reply(body=body, content_type="text/plain", headers=(("Content-Encoding", "gzip"),))
    async with asyncio.timeout(60):
        view = await call(session, "open", id=serve(site, "/encoded/empty-members", reply))
    assert "the text at the end" in view


async def test_slow_name_resolution_keeps_the_default_thread_pool_free(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # getaddrinfo blocks its thread for as long as the name's DNS servers make it (seconds
    # each try): in the default pool, a few such names starved every asyncio.to_thread.
    release = threading.Event()
    resolve = socket.getaddrinfo

    def slow_getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "slow-dns.test":
            release.wait(30)
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    asyncio.get_running_loop().set_default_executor(executor)
    config = LOOPBACK.model_copy(update={"timeout_s": 0.5})
    try:
        async with asyncio.timeout(10):
            with pytest.raises(OpenError, match=r"no complete answer within 0.5 s"):
                await open_with(config, "http://slow-dns.test/")
            assert await asyncio.to_thread(lambda: "free") == "free"
    finally:
        release.set()
        executor.shutdown(wait=False)
