"""An httpx transport whose every connection goes through the SSRF guard.

httpx resolves and connects inside httpcore's network backend; wrapping that backend is the
one place where the addresses actually dialled can be checked, for the first request and for
every redirect, with no window between the check and the connection (DNS rebinding). The
wrapper resolves the host itself, lets the guard judge every address, and connects to a
checked IP; TLS still verifies the certificate against the host name of the URL.

The system resolver blocks a thread until the name's DNS servers answer, seconds per try for a
name made slow on purpose; the transport resolves in threads of its own, so that the loop's
default pool, which every `asyncio.to_thread` shares, never waits on a page's DNS.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterable

import httpcore
import httpx
from harmony_agent.tools.browser._errors import Blocked
from harmony_agent.tools.browser._guard import Guard

__all__ = ["GuardedTransport"]


class _GuardedNetwork(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the guard allows, resolved in `resolvers`."""

    def __init__(self, guard: Guard, resolvers: concurrent.futures.Executor) -> None:
        self._guard = guard
        self._resolvers = resolvers
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolves `host`, checks every address, connects to the first that answers."""
        async with asyncio.timeout(timeout):
            addresses = await self._guard.resolve(host, port, self._resolvers)
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._network.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as failed:
                error = failed
        raise error or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Unix sockets are local: always refused."""
        raise Blocked(path, "Unix sockets are not allowed.")

    async def sleep(self, seconds: float) -> None:
        """Sleeps (httpcore uses it between connection retries)."""
        await self._network.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """`httpx.AsyncHTTPTransport` over the guarded network backend, resolving names in up to
    `resolvers` threads of its own.

    httpx offers no argument for httpcore's `network_backend`, so the pool is replaced after
    construction (the replaced one never opened a connection). Environment proxies are not
    used: through a proxy, the guard could not see the addresses dialled.
    """

    def __init__(self, guard: Guard, limits: httpx.Limits, *, resolvers: int) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._resolvers = concurrent.futures.ThreadPoolExecutor(
            max_workers=resolvers, thread_name_prefix="browser-dns"
        )
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedNetwork(guard, self._resolvers),
        )

    async def aclose(self) -> None:
        """Closes the connections; a lookup still blocked ends on its own, unawaited."""
        try:
            await super().aclose()
        finally:
            self._resolvers.shutdown(wait=False, cancel_futures=True)
