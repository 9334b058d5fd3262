"""Search through the Brave Search API."""

from __future__ import annotations

import html
import re
from typing import Any, Literal

import httpx
from harmony_agent.tools.browser._backend import (
    PageFetcher,
    SearchBackend,
    SearchResult,
    api_key,
    request_json,
)
from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["BraveBackend", "BraveConfig"]

_MAX_COUNT = 20  # the API's limit on results per request
_TAG = re.compile(r"<[^>]+>")


class BraveConfig(BaseModel):
    """Settings of the Brave Search API backend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["brave"] = "brave"
    api_key: SecretStr | None = Field(
        default=None, description="API key; when unset, read from `api_key_env` at use."
    )
    api_key_env: str = Field(
        default="BRAVE_API_KEY", description="Environment variable holding the API key."
    )
    endpoint: str = Field(
        default="https://api.search.brave.com/res/v1/web/search",
        description="Web search endpoint (change it only for a proxy).",
    )
    timeout_s: float = Field(default=15.0, gt=0, description="Seconds to wait for an answer.")

    def build(self) -> BraveBackend:
        """The backend these settings describe."""
        return BraveBackend(self)


class BraveBackend(SearchBackend):
    """Queries the web search endpoint with the `X-Subscription-Token` header."""

    def __init__(self, config: BraveConfig) -> None:
        self._config = config

    async def start(self, fetch_page: PageFetcher) -> None:
        """Checks that an API key is set."""
        self._key()

    async def search(self, query: str, topn: int, http: httpx.AsyncClient) -> list[SearchResult]:
        """Returns up to `topn` web results (the API gives 20 at most)."""
        data = await request_json(
            http,
            "GET",
            self._config.endpoint,
            service="Brave Search",
            timeout_s=self._config.timeout_s,
            headers={"Accept": "application/json", "X-Subscription-Token": self._key()},
            params={"q": query, "count": min(topn, _MAX_COUNT)},
        )
        web = data.get("web") if isinstance(data, dict) else None
        items = web.get("results") if isinstance(web, dict) else None
        if not isinstance(items, list):
            return []
        return [_result(item) for item in items if isinstance(item, dict) and item.get("url")][
            :topn
        ]

    def _key(self) -> str:
        return api_key(self._config.api_key, self._config.api_key_env, "Brave")


def _result(item: dict[str, Any]) -> SearchResult:
    return SearchResult(
        title=_plain(item.get("title")),
        url=str(item["url"]),
        snippet=_plain(item.get("description")),
    )


def _plain(value: Any) -> str:
    """Brave marks query words with <strong>; the results page shows plain text."""
    return html.unescape(_TAG.sub("", str(value or "")))
