"""The browser as the model uses it, on the local test site."""

from __future__ import annotations

import json

from harmony_agent.tools.browser import FetchConfig, GuardConfig
from harmony_agent.tools.browser._session import BrowserSession

LOOPBACK = FetchConfig(guard=GuardConfig(allow_localhost=True))
"""Fetch settings that reach the test site on 127.0.0.1 (the guard refuses loopback else)."""


async def call(session: BrowserSession, function: str, **arguments: object) -> str:
    """Calls a browser function the way the model does, with a JSON body."""
    return (await session.call(function, json.dumps(arguments))).text
