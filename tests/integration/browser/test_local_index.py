"""The local SQLite FTS5 index: over a folder of documents, and over fetched URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
from harmony_agent import ConfigError, ToolError
from harmony_agent.tools.browser import Browser, BrowserConfig, LocalIndexConfig

from .calls import LOOPBACK, call
from .site import ARTICLE, Site, pdf_document


def write_documents(folder: Path) -> None:
    (folder / "guides").mkdir(parents=True)
    (folder / "guides" / "turbines.html").write_bytes(
        b"<html><head><title>Turbine maintenance</title></head><body><h1>Turbine maintenance</h1>"
        b"<p>Bulb turbines need their seals replaced every twelve years.</p></body></html>"
    )
    (folder / "tidal.html").write_bytes(ARTICLE)
    (folder / "notes.md").write_text("# Notes\n\nThe turbine hall floods at spring tides.\n")
    (folder / "plant.json").write_text('{"plant": "La Rance", "turbines": 24}')
    (folder / "report.pdf").write_bytes(
        pdf_document("Annual report", ["Output of the turbines rose."])
    )
    (folder / "photo.png").write_bytes(b"\x89PNG not indexed")


async def test_folder_index_search_and_open_offline(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    write_documents(folder)
    config = LocalIndexConfig(index=tmp_path / "index.sqlite", folder=folder)
    browser = Browser(BrowserConfig(search=config))  # the default guard: no network needed
    session = await browser.open_session()
    try:
        view = await call(session, "search", query="turbine maintenance")
        results = session.state.page()
        assert results.links[0] == (folder / "guides" / "turbines.html").resolve().as_uri()
        assert (
            "【0†Turbine maintenance】 # Turbine maintenance Bulb turbines need their seals" in view
        )
        assert set(results.links.values()) >= {
            (folder / name).resolve().as_uri() for name in ("notes.md", "plant.json", "report.pdf")
        }
        assert not any(url.endswith("photo.png") for url in results.links.values())
        opened = await call(session, "open", id=0)
        assert "Bulb turbines need their seals replaced every twelve years." in opened
        found = await call(session, "find", pattern="seals")
        assert "match at L" in found
        with pytest.raises(ToolError, match="No results for `zzzqqq`"):
            await call(session, "search", query="zzzqqq")
    finally:
        await session.aclose()
    assert (tmp_path / "index.sqlite").exists()


async def test_an_existing_index_is_reused(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    write_documents(folder)
    config = LocalIndexConfig(index=tmp_path / "index.sqlite", folder=folder)
    session = await Browser(BrowserConfig(search=config)).open_session()
    await session.aclose()
    (folder / "notes.md").unlink()
    session = await Browser(BrowserConfig(search=config)).open_session()
    try:
        await call(session, "search", query="spring tides flood")
        assert (folder / "notes.md").resolve().as_uri() in session.state.page().links.values()
    finally:
        await session.aclose()


async def test_url_index_is_fetched_once_then_served_from_the_index(
    tmp_path: Path, site: Site
) -> None:
    urls = (site.url("/article.html"), site.url("/cp1251.html"))
    config = LocalIndexConfig(index=tmp_path / "urls.sqlite", urls=urls)
    before = site.hits["/article.html"]
    session = await Browser(BrowserConfig(search=config, fetch=LOOPBACK)).open_session()
    try:
        assert site.hits["/article.html"] == before + 1
        view = await call(session, "search", query="Sihwa Lake capacity")
        assert (
            f"【0†Tidal power in 2024 | Energy Notes†{site.base.removeprefix('http://')}】" in view
        )
        await call(session, "open", id=0)
        assert "Приливная" in await call(session, "open", id=urls[1])
        assert site.hits["/article.html"] == before + 1
    finally:
        await session.aclose()


async def test_index_build_problems_are_config_errors(tmp_path: Path, site: Site) -> None:
    missing = LocalIndexConfig(index=tmp_path / "a.sqlite", folder=tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="does not exist"):
        await Browser(BrowserConfig(search=missing)).open_session()
    unreachable = LocalIndexConfig(index=tmp_path / "b.sqlite", urls=(site.url("/missing"),))
    with pytest.raises(ConfigError, match="404 Not Found"):
        await Browser(BrowserConfig(search=unreachable, fetch=LOOPBACK)).open_session()
    assert not (tmp_path / "b.sqlite").exists()
