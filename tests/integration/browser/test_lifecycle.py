"""The browser's shared clients and conversion workers: held across runs by `async with`."""

from __future__ import annotations

import json

from harmony_agent.tools.browser import Browser, BrowserConfig, FetchConfig, GuardConfig

from .site import Site
from .test_conversion_limits import converter_processes


async def test_a_browser_held_open_keeps_its_workers_across_runs(site: Site) -> None:
    browser = Browser(BrowserConfig(fetch=FetchConfig(guard=GuardConfig(allow_localhost=True))))
    seen: list[list[int]] = []
    async with browser as held:
        assert held is browser
        assert converter_processes() == []  # nothing starts before a page is opened
        for path in ("/small.html", "/article.html"):
            session = await browser.open_session()
            await session.call("open", json.dumps({"id": site.url(path)}))
            await session.aclose()
            seen.append(converter_processes())
    assert len(seen[0]) == 1
    assert seen[1] == seen[0]  # the second run found the first one's worker
    assert converter_processes() == []
