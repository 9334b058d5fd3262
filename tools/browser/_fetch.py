"""Fetching a URL the model picked: redirects one by one, each checked, within limits."""

from __future__ import annotations

import asyncio

import httpx
from harmony_agent.tools.browser._body import read_body
from harmony_agent.tools.browser._clients import Clients
from harmony_agent.tools.browser._config import FetchConfig
from harmony_agent.tools.browser._content import Download
from harmony_agent.tools.browser._errors import Blocked, OpenError
from harmony_agent.tools.browser._guard import Guard

__all__ = ["Fetcher"]


class Fetcher:
    """Downloads documents for one run, through the browser's shared clients."""

    def __init__(self, clients: Clients, config: FetchConfig) -> None:
        self._clients = clients
        self._config = config
        self._guard = Guard(config.guard)

    async def fetch(self, url: str) -> Download:
        """Downloads `url`, following redirects; raises `OpenError` (or `Blocked`) on failure.

        Every URL, the first and each redirect target, passes the guard's URL check, and every
        connection its address check. The whole fetch, redirects included, gets `timeout_s`.
        """
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as error:
            raise OpenError(url, f"this is not a valid URL ({error}).") from None
        async with self._clients.fetch_slots:
            try:
                async with asyncio.timeout(self._config.timeout_s):
                    return await self._follow(target)
            except (TimeoutError, httpx.TimeoutException):
                raise OpenError(
                    url,
                    f"no complete answer within {self._config.timeout_s:g} s. "
                    "Try again later or open another page.",
                ) from None

    async def _follow(self, url: httpx.URL) -> Download:
        for _ in range(self._config.max_redirects + 1):
            self._guard.check_url(url)
            request = self._clients.web.build_request("GET", url)
            try:
                response = await self._clients.web.send(request, stream=True)
            except Blocked as error:
                raise Blocked(str(url), error.reason) from None
            except httpx.TimeoutException:
                raise
            except httpx.HTTPError as error:
                raise OpenError(str(url), f"the request failed ({_describe(error)}).") from None
            try:
                if response.next_request is not None:
                    url = response.next_request.url
                    continue
                return await self._read(url, response)
            finally:
                await response.aclose()
        raise OpenError(str(url), f"more than {self._config.max_redirects} redirects.")

    async def _read(self, url: httpx.URL, response: httpx.Response) -> Download:
        if response.status_code >= 400:
            raise OpenError(
                str(url),
                f"the server answered {response.status_code} {response.reason_phrase}.",
            )
        body = await read_body(response, str(url), self._config.max_bytes)
        media_type, _, parameters = response.headers.get("content-type", "").partition(";")
        return Download(
            url=str(url),
            media_type=media_type.strip().lower(),
            charset=_charset(parameters),
            body=body,
        )


def _charset(parameters: str) -> str | None:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def _describe(error: httpx.HTTPError) -> str:
    return str(error) or type(error).__name__
