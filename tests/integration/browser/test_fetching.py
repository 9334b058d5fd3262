"""Fetching real pages from a local server: extraction, charsets, limits, redirects, the guard."""

from __future__ import annotations

import asyncio

import pytest
from harmony_agent.tools.browser import Browser, BrowserConfig, FetchConfig, GuardConfig
from harmony_agent.tools.browser._errors import Blocked, OpenError
from harmony_agent.tools.browser._session import BrowserSession

from .calls import LOOPBACK, call
from .site import CYRILLIC_TEXT, LATIN1_TEXT, UNDECLARED_TEXT, Site


async def open_with(config: FetchConfig, url: str) -> str:
    session = await Browser(BrowserConfig(fetch=config)).open_session()
    try:
        return await call(session, "open", id=url)
    finally:
        await session.aclose()


async def test_article_keeps_content_tables_code_and_links_but_not_boilerplate(
    session: BrowserSession, site: Site
) -> None:
    view = await call(session, "open", id=site.url("/article.html"), num_lines=100)
    assert "L2: # Tidal power in 2024" in view
    assert "L9: ## Installed capacity by country" in view
    assert "La Rance | France | 240" in view
    assert "def tidal_energy(area_m2, range_m, density=1025, g=9.81):" in view
    assert "【0†2024 \nL12: ocean energy report†www.example.net】" in view  # other domain
    assert "【1†turbine efficiency】" in view  # same domain
    for boilerplate in ("Log in", "Ten gadgets", "Copyright", "Cookie settings", "do-not-show"):
        assert boilerplate not in view
    assert session.state.page().links == {
        0: "https://www.example.net/tidal-report",
        1: site.url("/article2.html"),
    }


async def test_broken_html_still_reads(session: BrowserSession, site: Site) -> None:
    view = await call(session, "open", id=site.url("/broken.html"))
    assert view.startswith(f"[0] Broken markup ({site.url('/broken.html')})")
    assert "Unclosed paragraph about bold nested text that never closes" in view
    assert "cell one cell two" in view
    assert "【0†small page" in view


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/cp1251.html", CYRILLIC_TEXT),
        ("/latin1.txt", LATIN1_TEXT),
        ("/undeclared.html", UNDECLARED_TEXT[:40]),
    ],
    ids=["meta-charset", "header-charset", "detected"],
)
async def test_non_utf8_pages(session: BrowserSession, site: Site, path: str, text: str) -> None:
    assert text in await call(session, "open", id=site.url(path))


async def test_json_plain_text_and_pdf(session: BrowserSession, site: Site) -> None:
    assert '"capacity_mw": 254,' in await call(session, "open", id=site.url("/data.json"))
    assert "L2: line one\nL3: line two" in await call(session, "open", id=site.url("/notes.txt"))
    pdf = await call(session, "open", id=site.url("/report.pdf"))
    assert pdf.startswith(f"[2] Tidal report ({site.url('/report.pdf')})")
    assert "L2: Tidal output rose in 2024.\nL3: La Rance: 240 MW." in pdf


@pytest.mark.parametrize(
    ("path", "kind"), [("/image.png", "image/png"), ("/blob", "application/octet-stream")]
)
async def test_binary_documents_are_refused(
    session: BrowserSession, site: Site, path: str, kind: str
) -> None:
    with pytest.raises(
        OpenError, match=f"it is a `{kind}` document, which the browser cannot show"
    ):
        await call(session, "open", id=site.url(path))
    assert session.state.cursors == []


async def test_huge_page_over_the_size_limit(site: Site) -> None:
    with pytest.raises(OpenError, match="the document is larger than 100000 bytes"):
        await open_with(LOOPBACK.model_copy(update={"max_bytes": 100_000}), site.url("/huge.html"))


async def test_redirects_are_followed(session: BrowserSession, site: Site) -> None:
    view = await call(session, "open", id=site.url("/redirect/one"))
    assert view.startswith(f"[0] Small page ({site.url('/small.html')})")
    # The page is cached under both URLs.
    await call(session, "open", id=site.url("/small.html"))
    assert len(session.state.pages) == 1


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (
            "/redirect/private",
            r"Cannot open `http://10.0.0.1/admin`: it resolves to 10.0.0.1, a private address",
        ),
        ("/redirect/metadata", r"it resolves to 169.254.169.254, a cloud metadata address"),
        ("/redirect/file", r"the `file:` scheme is not allowed"),
    ],
)
async def test_redirects_to_forbidden_targets_are_refused(
    session: BrowserSession, site: Site, path: str, reason: str
) -> None:
    with pytest.raises(Blocked, match=reason):
        await call(session, "open", id=site.url(path))


async def test_redirect_loops_end(session: BrowserSession, site: Site) -> None:
    with pytest.raises(OpenError, match="more than 5 redirects"):
        await call(session, "open", id=site.url("/redirect/loop"))


async def test_not_found(session: BrowserSession, site: Site) -> None:
    with pytest.raises(OpenError, match=r"the server answered 404 Not Found\."):
        await call(session, "open", id=site.url("/missing"))


async def test_slow_response_times_out(site: Site) -> None:
    config = LOOPBACK.model_copy(update={"timeout_s": 0.3})
    with pytest.raises(OpenError, match=r"no complete answer within 0.3 s"):
        await open_with(config, site.url("/slow"))


async def test_the_guard_refuses_loopback_by_default(site: Site) -> None:
    port = site.base.rsplit(":", 1)[1]
    for url in (
        site.url("/small.html"),
        f"http://localhost:{port}/small.html",
        f"http://[::ffff:127.0.0.1]:{port}/small.html",
        f"http://2130706433:{port}/small.html",
    ):
        with pytest.raises(Blocked, match="a loopback address, which the browser may not access"):
            await open_with(FetchConfig(), url)


async def test_domain_lists(site: Site) -> None:
    denied = GuardConfig(allow_localhost=True, denied_domains=("127.0.0.1",))
    with pytest.raises(Blocked, match=r"the domain `127\.0\.0\.1` is blocked"):
        await open_with(FetchConfig(guard=denied), site.url("/small.html"))
    allowed = GuardConfig(allow_localhost=True, allowed_domains=("example.org",))
    with pytest.raises(Blocked, match="not among the allowed domains"):
        await open_with(FetchConfig(guard=allowed), site.url("/small.html"))


async def test_concurrent_fetches_are_limited_across_runs(site: Site) -> None:
    browser = Browser(
        BrowserConfig(fetch=LOOPBACK.model_copy(update={"max_concurrent_fetches": 2}))
    )
    sessions = [await browser.open_session() for _ in range(3)]
    site.max_in_flight = 0
    try:
        await asyncio.gather(
            *(call(sessions[n % 3], "open", id=site.url(f"/concurrent/{n}")) for n in range(6))
        )
    finally:
        for session in sessions:
            await session.aclose()
    assert site.max_in_flight == 2
