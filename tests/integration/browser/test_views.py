"""What the model reads: exact views, scrolling, links, find, the cache, state and citations."""

from __future__ import annotations

import json

import pytest
from harmony_agent import Citation, ToolError
from harmony_agent.tools import InvalidArguments
from harmony_agent.tools.browser import Browser, BrowserConfig
from harmony_agent.tools.browser._citations import resolve_citations
from harmony_agent.tools.browser._session import BrowserSession
from harmony_agent.tools.browser._state import BrowserState

from .calls import LOOPBACK, call
from .site import Site


async def test_exact_view_of_a_small_page(session: BrowserSession, site: Site) -> None:
    url = site.url("/small.html")
    assert await call(session, "open", id=url) == (
        f"[0] Small page ({url})\n"
        "**viewing lines [0 - 5] of 5**\n"
        "\n"
        "L0: \n"
        f"L1: URL: {url}\n"
        "L2: # Small page\n"
        "L3: \n"
        "L4: The quick brown fox jumps over the lazy dog. See the 【0†article】 or 【1†the \n"
        "L5: docs†example.org】."
    )


async def test_open_without_id_scrolls_and_num_lines_is_honoured(
    session: BrowserSession, site: Site
) -> None:
    url = site.url("/article.html")
    await call(session, "open", id=url, num_lines=3)
    view = await call(session, "open", loc=14, num_lines=4)
    assert view.startswith(f"[1] Tidal power in 2024 | Energy Notes ({url})\n")
    assert "**viewing lines [14 - 17] of 30**" in view
    assert view.endswith(
        "L14: Plant | Country | Capacity (MW)\n"
        "L15: Sihwa Lake | South Korea | 254\n"
        "L16: La Rance | France | 240\n"
        "L17: MeyGen | United Kingdom | 6"
    )
    # An earlier cursor stays valid after scrolling.
    assert "**viewing lines [0 - 2] of 30**" in await call(session, "open", cursor=0, num_lines=3)


async def test_following_links_by_id(session: BrowserSession, site: Site) -> None:
    await call(session, "open", id=site.url("/small.html"))
    view = await call(session, "open", id=0)
    assert view.startswith(f"[1] Tidal power in 2024 | Energy Notes ({site.url('/article.html')})")
    # From the article, follow its same-domain link, given as a string the way models do.
    assert (await call(session, "open", id="1")).startswith(
        f"[2] Small page ({site.url('/article2.html')})"
    )


async def test_the_viewport_is_bounded_in_tokens(site: Site) -> None:
    counted: list[str] = []

    def count_words(text: str) -> int:
        counted.append(text)
        return len(text.split())

    browser = Browser(BrowserConfig(fetch=LOOPBACK, view_tokens=100), count_tokens=count_words)
    session = await browser.open_session()
    try:
        view = await call(session, "open", id=site.url("/huge.html"))
    finally:
        await session.aclose()
    assert "**viewing lines [0 - 14] of 12000**" in view
    shown = view.split("\n\n", 1)[1].split("\n")
    assert sum(len(line.split()) for line in shown[:-1]) <= 100
    assert sum(len(line.split()) for line in shown) > 100  # the crossing line is shown whole
    assert len(counted) == len(shown)  # only the lines in view were counted


async def test_a_page_sized_num_lines_shows_at_most_max_view_tokens(site: Site) -> None:
    def count_words(text: str) -> int:
        return len(text.split())

    config = BrowserConfig(fetch=LOOPBACK, view_tokens=100, max_view_tokens=300)
    browser = Browser(config, count_tokens=count_words)
    session = await browser.open_session()
    try:
        view = await call(session, "open", id=site.url("/huge.html"), num_lines=100_000)
        again = await call(session, "open", loc=5, num_lines=3)
    finally:
        await session.aclose()
    shown = view.split("\n\n", 1)[1].split("\n")
    assert (
        sum(len(line.split()) for line in shown[:-1])
        <= 300
        < sum(len(line.split()) for line in shown)
    )
    assert f"**viewing lines [0 - {len(shown) - 1}] of 12000**" in view
    assert "**viewing lines [5 - 7] of 12000**" in again  # fewer lines: exactly those


async def test_location_past_the_end_is_an_error_and_takes_no_cursor(
    session: BrowserSession, site: Site
) -> None:
    await call(session, "open", id=site.url("/small.html"))
    with pytest.raises(
        ToolError, match=r"Invalid location parameter: `9`\. Cannot exceed page maximum of 5\."
    ):
        await call(session, "open", loc=9)
    assert len(session.state.cursors) == 1
    assert (await call(session, "open", loc=4)).startswith("[1] ")


async def test_find_lists_matches_and_opens_them(session: BrowserSession, site: Site) -> None:
    url = site.url("/article.html")
    fetched = site.hits["/article.html"]
    await call(session, "open", id=url)
    assert await call(session, "find", pattern="La Rance") == (
        "[1] Find results for text: `la rance` in `Tidal power in 2024 | Energy Notes` "
        f"({url}/find?pattern=la rance)\n"
        "**viewing lines [0 - 10] of 10**\n"
        "\n"
        "L0: # 【0†match at L16】\n"
        "L1: La Rance | France | 240\n"
        "L2: MeyGen | United Kingdom | 6\n"
        "L3: \n"
        "L4: ## Estimating output\n"
        "L5: \n"
        "L6: # 【1†match at L22】\n"
        "L7: area and the tidal range. The snippet below computes it for La Rance:\n"
        "L8: \n"
        "L9: ```\n"
        "L10: def tidal_energy(area_m2, range_m, density=1025, g=9.81):"
    )
    view = await call(session, "open", id=1)
    assert "**viewing lines [18 - " in view  # four lines above the match, as the reference does
    assert site.hits["/article.html"] == fetched + 1  # served from the run's cache
    with pytest.raises(
        ToolError, match="Cannot run `find` on search results page or find results page"
    ):
        await call(session, "find", pattern="x", cursor=1)


async def test_find_without_matches(session: BrowserSession, site: Site) -> None:
    await call(session, "open", id=site.url("/small.html"))
    view = await call(session, "find", pattern="Zebra")
    assert view.endswith("L0: No `find` results for pattern: `zebra`")


async def test_view_source(session: BrowserSession, site: Site) -> None:
    url = site.url("/small.html")
    await call(session, "open", id=url)
    view = await call(session, "open", view_source=True)
    assert view.startswith(f"[1] view-source:{url} (view-source:{url})\n")
    assert "L0: <!doctype html>" in view


async def test_errors_the_model_can_fix(session: BrowserSession, site: Site) -> None:
    with pytest.raises(ToolError, match="No pages to access!"):
        await call(session, "find", pattern="fox")
    await call(session, "open", id=site.url("/small.html"))
    with pytest.raises(
        ToolError, match=r"Cursor `4` is out of range\. Available cursor indices: \[0 - 0\]\."
    ):
        await call(session, "open", cursor=4)
    with pytest.raises(ToolError, match="Invalid link id `9`"):
        await call(session, "open", id=9)
    with pytest.raises(InvalidArguments, match=r"invalid arguments for browser.open: loc: "):
        await session.call("open", '{"loc": "top"}')
    with pytest.raises(InvalidArguments, match=r"colour: Extra inputs are not permitted"):
        await session.call("find", '{"pattern": "fox", "colour": "red"}')
    with pytest.raises(InvalidArguments, match="not valid JSON"):
        await session.call("open", "{id: 3")
    with pytest.raises(ToolError, match=r"`browser.navigate` does not exist"):
        await session.call("navigate", "{}")
    with pytest.raises(ToolError, match="Search is not available"):
        await call(session, "search", query="tides")


async def test_state_snapshot_is_json_and_restores(session: BrowserSession, site: Site) -> None:
    await call(session, "open", id=site.url("/small.html"))
    await call(session, "open", loc=2)
    await call(session, "find", pattern="fox")
    snapshot = session.snapshot()
    restored = BrowserState.model_validate(json.loads(json.dumps(snapshot)))
    assert restored.cursors == [0, 0, 1]
    assert restored.page(1) == session.state.page(1)
    assert restored.page(1).links == {0: site.url("/article.html"), 1: "https://example.org/docs"}


async def test_citations_resolve_to_url_and_lines(session: BrowserSession, site: Site) -> None:
    url = site.url("/article.html")
    await call(session, "open", id=url)
    await call(session, "find", pattern="sihwa")
    answer = (
        "Sihwa Lake has 254 MW【0†L15】 and started in 2011【1†L1-L3】; ignored: 【7†L1】【0†L99】."
    )
    first, second = resolve_citations(answer, session.state)
    title = "Tidal power in 2024 | Energy Notes"
    assert first == Citation("【0†L15】", url, title, (15, 15), "Sihwa Lake | South Korea | 254")
    # A find page's lines are cited with the URL of the page searched.
    assert (second.marker, second.url, second.lines) == ("【1†L1-L3】", url, (1, 3))
    assert second.title == f"Find results for text: `sihwa` in `{title}`"
    assert "Sihwa Lake in" in second.text
    assert session.cite(answer) == [first, second]
