"""Search through a SearXNG instance's JSON API (self-hosted metasearch)."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from harmony_agent.tools.browser._search._backend import (
    AnswerTimeout,
    SearchBackend,
    SearchResult,
    hits,
    request_json,
)
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SearxngBackend", "SearxngConfig"]


class SearxngConfig(BaseModel):
    """Settings of the SearXNG backend. The instance must enable the `json` output format
    (`search.formats` in its settings.yml).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["searxng"] = "searxng"
    url: str = Field(description="Base URL of the SearXNG instance, e.g. http://localhost:8888.")
    categories: str | None = Field(
        default=None, description="Comma-separated SearXNG categories, e.g. `general,news`."
    )
    language: str | None = Field(default=None, description="Search language, e.g. `en`.")
    timeout_s: AnswerTimeout = 15.0

    def build(self) -> SearxngBackend:
        """The backend these settings describe."""
        return SearxngBackend(self)


class SearxngBackend(SearchBackend):
    """Queries `GET {url}/search?format=json`."""

    def __init__(self, config: SearxngConfig) -> None:
        self._config = config

    async def search(self, query: str, topn: int, http: httpx.AsyncClient) -> list[SearchResult]:
        """Returns the instance's first `topn` results."""
        params: dict[str, str | int] = {"q": query, "format": "json", "pageno": 1}
        if self._config.categories:
            params["categories"] = self._config.categories
        if self._config.language:
            params["language"] = self._config.language
        data = await request_json(
            http,
            "GET",
            f"{self._config.url.rstrip('/')}/search",
            service="SearXNG",
            timeout_s=self._config.timeout_s,
            params=params,
        )
        return [_result(item) for item in hits(data, "results")][:topn]


def _result(item: dict[str, Any]) -> SearchResult:
    return SearchResult(
        title=str(item.get("title") or ""),
        url=str(item["url"]),
        snippet=str(item.get("content") or ""),
    )
