"""The search backend interface, and what the JSON API backends share."""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from harmony_agent.tools._base import ToolError
from harmony_agent.tools.browser._body import ACCEPT_ENCODING, read_body
from harmony_agent.tools.browser._errors import OpenError
from harmony_agent.tools.browser._page import Page
from pydantic import Field

__all__ = [
    "MAX_ANSWER_BYTES",
    "AnswerTimeout",
    "PageFetcher",
    "SearchBackend",
    "SearchError",
    "SearchResult",
    "hits",
    "request_json",
]

PageFetcher = Callable[[str], Awaitable[Page]]
"""Fetches a URL through the browser (with its guard, limits and cache) and returns the page."""

MAX_ANSWER_BYTES = 4 << 20
"""The largest answer a search API may give, decoded (a page of results is tens of kB)."""

AnswerTimeout = Annotated[float, Field(gt=0, description="Seconds to wait for an answer.")]
"""The `timeout_s` setting of a search service; each service gives its own default."""


@dataclass(frozen=True)
class SearchResult:
    """One search hit: what the results page shows for it."""

    title: str
    url: str
    snippet: str = ""


class SearchError(ToolError):
    """The search service failed (unreachable, an error status, a malformed answer)."""


class SearchBackend(ABC):
    """Where `browser.search` looks things up.

    A backend is shared by every run of a browser. `start` runs when a run opens the browser
    (check settings, build an index); `page` lets a backend serve the documents it holds
    itself (a local index) instead of fetching them over the network.
    """

    async def start(self, fetch_page: PageFetcher) -> None:  # noqa: B027 - optional hook
        """Prepares the backend for a run; raises `ConfigError` when its settings are wrong."""

    @abstractmethod
    async def search(self, query: str, topn: int, http: httpx.AsyncClient) -> list[SearchResult]:
        """Returns at most `topn` results for `query`; raises `SearchError` when it fails."""

    async def page(self, url: str) -> Page | None:
        """The page for `url` when this backend holds the document itself, else None."""
        return None


async def request_json(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    service: str,
    timeout_s: float,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str | int] | None = None,
    body: Mapping[str, Any] | None = None,
) -> Any:
    """Calls a search API and returns its JSON answer, read within `timeout_s` in all and
    `MAX_ANSWER_BYTES` (compressed or not).

    Failures raise `SearchError` with a message for the model; it names the service and the
    status, never the request headers (they carry the API key).
    """
    request = http.build_request(
        method,
        url,
        headers={**(headers or {}), "Accept-Encoding": ACCEPT_ENCODING},
        params=params,
        json=body,
        timeout=timeout_s,
    )
    try:
        async with asyncio.timeout(timeout_s):
            response = await http.send(request, stream=True)
            try:
                if response.status_code != 200:
                    raise SearchError(
                        f"Search failed: {service} answered HTTP {response.status_code} "
                        f"{response.reason_phrase}. Try again later or open a URL directly."
                    )
                answer = await read_body(response, url, MAX_ANSWER_BYTES)
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        raise SearchError(
            f"Search failed: {service} did not answer within {timeout_s:g} s. Try again later."
        ) from None
    except httpx.HTTPError as error:
        raise SearchError(
            f"Search failed: {service} could not be reached ({type(error).__name__})."
        ) from None
    except OpenError:
        raise SearchError(
            f"Search failed: {service} answered with more than {MAX_ANSWER_BYTES} bytes or "
            "in an unknown encoding."
        ) from None
    try:
        return json.loads(answer)
    except ValueError:
        raise SearchError(f"Search failed: {service} did not answer with JSON.") from None


def hits(data: Any, *path: str) -> list[dict[str, Any]]:
    """The results with a URL in the list at `path` of a JSON answer (keys of nested objects);
    none when the answer has no such list.
    """
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    if not isinstance(data, list):
        return []
    return [item for item in data if isinstance(item, dict) and item.get("url")]
