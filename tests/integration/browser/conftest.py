from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from harmony_agent.tools.browser import (
    Browser,
    BrowserConfig,
    BrowserSession,
    FetchConfig,
    GuardConfig,
)

from .site import RunningSite, Site

LOOPBACK = FetchConfig(guard=GuardConfig(allow_localhost=True))


@pytest.fixture(scope="session")
def running_site() -> Iterator[RunningSite]:
    running = RunningSite()
    yield running
    running.stop()


@pytest.fixture
def site(running_site: RunningSite) -> Site:
    return running_site.site


@pytest.fixture
async def session() -> AsyncIterator[BrowserSession]:
    browser = Browser(BrowserConfig(fetch=LOOPBACK))
    session = await browser.open_session()
    yield session
    await session.aclose()


async def call(session: BrowserSession, function: str, **arguments: object) -> str:
    """Calls a browser function the way the model does, with a JSON body."""
    return (await session.call(function, json.dumps(arguments))).text
