"""The local test site and a browser session that may reach it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from harmony_agent.tools.browser import Browser, BrowserConfig
from harmony_agent.tools.browser._session import BrowserSession

from .calls import LOOPBACK
from .site import RunningSite, Site


@pytest.fixture(scope="session")
def running_site() -> Iterator[RunningSite]:
    """The test site, served on 127.0.0.1 for the whole session."""
    running = RunningSite()
    yield running
    running.stop()


@pytest.fixture
def site(running_site: RunningSite) -> Site:
    """The test site's pages and request log."""
    return running_site.site


@pytest.fixture
async def session() -> AsyncIterator[BrowserSession]:
    """A browser session allowed to fetch from the test site."""
    browser = Browser(BrowserConfig(fetch=LOOPBACK))
    session = await browser.open_session()
    yield session
    await session.aclose()
