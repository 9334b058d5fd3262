"""What one browser shares between all its runs: HTTP clients, the limit on fetches, and the
page converter's worker processes.

Clients are tied to an event loop, so there is one set per loop (in practice one per
process). A set is opened by the first run that needs it and closed when the last run
using it closes: the lifecycle follows the runs, and no client or worker process outlives
them.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from importlib import metadata

import httpx
from harmony_agent.tools.browser._body import ACCEPT_ENCODING
from harmony_agent.tools.browser._config import FetchConfig
from harmony_agent.tools.browser._converter import Converter
from harmony_agent.tools.browser._guard import Guard
from harmony_agent.tools.browser._transport import GuardedTransport

__all__ = ["ClientPool", "Clients"]

_ACCEPT = (
    "text/html,application/xhtml+xml,application/pdf,text/plain,application/json;q=0.9,*/*;q=0.5"
)


@dataclass
class Clients:
    """`web` fetches the URLs the model picks (guarded); `api` calls the configured search
    service; `fetch_slots` bounds the fetches in flight; `converter` turns what was fetched
    into pages.
    """

    web: httpx.AsyncClient
    api: httpx.AsyncClient
    fetch_slots: asyncio.Semaphore
    converter: Converter
    users: int = field(default=0)

    async def aclose(self) -> None:
        """Closes both clients and kills the converter's workers."""
        try:
            await self.converter.aclose()
        finally:
            try:
                await self.web.aclose()
            finally:
                await self.api.aclose()


class ClientPool:
    """Hands out the clients of the running event loop, counting the runs that hold them."""

    def __init__(self, config: FetchConfig) -> None:
        self._config = config
        self._clients: dict[asyncio.AbstractEventLoop, Clients] = {}

    def acquire(self) -> Clients:
        """The clients of the running loop, opened if no run holds them yet."""
        loop = asyncio.get_running_loop()
        clients = self._clients.get(loop)
        if clients is None:
            clients = self._clients[loop] = self._open()
        clients.users += 1
        return clients

    def held(self) -> Clients:
        """The clients of the running loop, which the caller holds (from `acquire`)."""
        clients = self._clients.get(asyncio.get_running_loop())
        if clients is None:
            raise RuntimeError("no browser clients are held on this event loop")
        return clients

    async def release(self, clients: Clients) -> None:
        """Gives back what `acquire` returned; the last user closes the clients."""
        clients.users -= 1
        if clients.users == 0:
            loop = asyncio.get_running_loop()
            if self._clients.get(loop) is clients:
                del self._clients[loop]
            await clients.aclose()

    def _open(self) -> Clients:
        config = self._config
        headers = {
            "User-Agent": config.user_agent or _default_user_agent(),
            "Accept": _ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        timeout = httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        web = httpx.AsyncClient(
            transport=GuardedTransport(
                Guard(config.guard), limits, resolvers=config.max_concurrent_fetches
            ),
            headers=headers,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
        )
        api = httpx.AsyncClient(headers={"User-Agent": headers["User-Agent"]}, timeout=timeout)
        # Conversion is CPU-bound: more workers than cores would not convert more at once.
        workers = min(config.max_concurrent_fetches, os.cpu_count() or 1)
        converter = Converter(workers=workers, max_chars=config.max_bytes)
        return Clients(web, api, asyncio.Semaphore(config.max_concurrent_fetches), converter)


def _default_user_agent() -> str:
    try:
        version = metadata.version("harmony-agent")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"harmony-agent/{version}"
