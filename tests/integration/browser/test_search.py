"""Search backends against JSON endpoints on loopback shaped like the real services."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest
from harmony_agent import ConfigError, ToolError
from harmony_agent.tools.browser import (
    BraveConfig,
    Browser,
    BrowserConfig,
    ExaConfig,
    SearchConfig,
    SearxngConfig,
)
from harmony_agent.tools.browser._search._backend import SearchError
from harmony_agent.tools.browser._session import BrowserSession
from pydantic import SecretStr

from .calls import LOOPBACK, call
from .site import Reply, Site, encoded, zeros


async def open_session(search: SearchConfig, **settings: object) -> BrowserSession:
    config = BrowserConfig(search=search, fetch=LOOPBACK, **settings)  # type: ignore[arg-type]
    return await Browser(config).open_session()


@pytest.fixture
async def searxng(site: Site) -> AsyncIterator[BrowserSession]:
    session = await open_session(SearxngConfig(url=site.url("/searxng")))
    yield session
    await session.aclose()


async def test_searxng_results_page(searxng: BrowserSession, site: Site) -> None:
    host = site.base.removeprefix("http://")
    assert await call(searxng, "search", query="tidal power", topn=2) == (
        "[0] tidal power\n"
        "**viewing lines [0 - 4] of 4**\n"
        "\n"
        "L0: # Search Results\n"
        "L1: \n"
        f"L2:   * 【0†Tidal power in 2024†{host}】 Tidal power converts the energy of \n"
        "L3: tides into electricity.\n"
        f"L4:   * 【1†Small page†{host}】 The quick brown fox."
    )
    assert site.requests[-1][0] == "/searxng/search"


async def test_searxng_search_then_open_a_result(searxng: BrowserSession, site: Site) -> None:
    view = await call(searxng, "search", query="tidal power")
    assert "【2†Tides explained†example.org】 Why tides happen." in view
    assert searxng.state.page().links[0] == site.url("/article.html")
    opened = await call(searxng, "open", id=0)
    assert opened.startswith(
        f"[1] Tidal power in 2024 | Energy Notes ({site.url('/article.html')})"
    )
    with pytest.raises(ToolError, match="Cannot run `find` on search results page"):
        await call(searxng, "find", pattern="tides", cursor=0)


async def test_topn_is_capped_by_the_config(site: Site) -> None:
    session = await open_session(SearxngConfig(url=site.url("/searxng")), max_search_results=1)
    try:
        await call(session, "search", query="tides", topn=10)
        assert list(session.state.page().links) == [0]
    finally:
        await session.aclose()


async def test_search_service_errors_reach_the_model(site: Site) -> None:
    session = await open_session(SearxngConfig(url=site.url("/broken-search")))
    try:
        with pytest.raises(SearchError, match=r"Search failed: SearXNG answered HTTP 500"):
            await call(session, "search", query="tides")
    finally:
        await session.aclose()


def _results_json(megabytes: int) -> Iterator[bytes]:
    """A SearXNG answer of about `megabytes` MB: one long snippet, a megabyte at a time."""
    yield b'{"results": [{"url": "https://a.example/", "title": "t", "content": "'
    yield from (b"x" * (1 << 20) for _ in range(megabytes))
    yield b'"}]}'


def _drip(count: int, every_s: float) -> Iterator[bytes]:
    """`count` bytes of JSON, one every `every_s` seconds."""
    for _ in range(count):
        time.sleep(every_s)
        yield b" "


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (
            Reply(chunks=_results_json(64), content_type="application/json"),
            "answered with more than",
        ),
        (
            Reply(
                body=encoded(zeros(100), "gzip", "gzip"),
                content_type="application/json",
                headers=(("Content-Encoding", "gzip, gzip"),),
            ),
            "answered with more than",
        ),
        (  # a byte at a time, each within httpx's read timeout
            Reply(chunks=_drip(50, every_s=0.1), content_type="application/json"),
            "did not answer within 0.5 s",
        ),
    ],
    ids=["huge", "bomb", "drip"],
)
async def test_a_search_answer_is_bounded_in_size_and_time(
    site: Site, reply: Reply, error: str
) -> None:
    site.routes["/hostile-search/search"] = lambda *_: reply
    session = await open_session(SearxngConfig(url=site.url("/hostile-search"), timeout_s=0.5))
    try:
        with pytest.raises(SearchError, match=f"Search failed: SearXNG {error}"):
            await call(session, "search", query="tides")
        assert await call(session, "open", id=site.url("/small.html"))  # the session goes on
    finally:
        await session.aclose()


async def test_brave(site: Site) -> None:
    config = BraveConfig(endpoint=site.url("/brave/search"), api_key=SecretStr("brave-test-key"))
    session = await open_session(config)
    try:
        view = await call(session, "search", query="tides", topn=2)
    finally:
        await session.aclose()
    host = site.base.removeprefix("http://")
    assert f"【0†Tidal power in 2024†{host}】 Tidal Tidal power converts" in view
    assert "Small page" in view and "Tides explained" not in view
    path, headers = site.requests[-1]
    assert path == "/brave/search" and headers["x-subscription-token"] == "brave-test-key"


async def test_exa_reads_its_key_from_the_environment_at_use(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = Browser(
        BrowserConfig(search=ExaConfig(endpoint=site.url("/exa/search")), fetch=LOOPBACK)
    )
    with pytest.raises(ConfigError, match="EXA_API_KEY"):
        await browser.open_session()
    monkeypatch.setenv("EXA_API_KEY", "exa-test-key")
    session = await browser.open_session()
    try:
        view = await call(session, "search", query="tides", topn=3)
    finally:
        await session.aclose()
    assert "【2†Tides explained†example.org】 Why tides happen." in view


async def test_a_rejected_key_is_not_shown(site: Site) -> None:
    config = BraveConfig(endpoint=site.url("/brave/search"), api_key=SecretStr("wrong-secret"))
    session = await open_session(config)
    try:
        with pytest.raises(SearchError) as raised:
            await call(session, "search", query="tides")
    finally:
        await session.aclose()
    assert "401" in str(raised.value) and "wrong-secret" not in str(raised.value)
    assert "wrong-secret" not in repr(config)
