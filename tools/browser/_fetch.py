"""Opening a URL the model picked: redirects one by one, each checked, then the conversion to
a page, within one time limit.
"""

from __future__ import annotations

import asyncio

import httpx
from harmony_agent.tools.browser._body import read_body
from harmony_agent.tools.browser._clients import Clients
from harmony_agent.tools.browser._config import FetchConfig
from harmony_agent.tools.browser._content import Download
from harmony_agent.tools.browser._errors import Blocked, OpenError
from harmony_agent.tools.browser._guard import Guard
from harmony_agent.tools.browser._page import Page

__all__ = ["Fetcher"]


class Fetcher:
    """Opens documents for one run, through the browser's shared clients and converter."""

    def __init__(self, clients: Clients, config: FetchConfig) -> None:
        self._clients = clients
        self._config = config
        self._guard = Guard(config.guard)

    async def open(self, url: str, *, view_source: bool) -> Page:
        """The page at `url`, following redirects; raises `OpenError` (or `Blocked`).

        Every URL, the first and each redirect target, passes the guard's URL check, and every
        connection its address check. `timeout_s` bounds the time spent on the page: its
        fetch, redirects included, and its conversion, which is stopped when time is up.
        Waiting for a free fetch slot or conversion worker is not counted.
        """
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as error:
            raise OpenError(url, f"this is not a valid URL ({error}).") from None
        converter = self._clients.converter
        converter.prepare()  # a worker starts while the document downloads
        timeout = self._config.timeout_s
        loop = asyncio.get_running_loop()
        async with self._clients.fetch_slots:
            started = loop.time()
            try:
                async with asyncio.timeout(timeout):
                    download = await self._follow(target)
            except (TimeoutError, httpx.TimeoutException):
                raise OpenError(
                    url,
                    f"no complete answer within {timeout:g} s. "
                    "Try again later or open another page.",
                ) from None
            left = timeout - (loop.time() - started)
        try:
            return await converter.convert(download, view_source=view_source, timeout=left)
        except TimeoutError:
            raise OpenError(
                url,
                f"it is too large or complex to read within {timeout:g} s. "
                "Open another page instead.",
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
