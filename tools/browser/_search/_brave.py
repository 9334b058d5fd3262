"""Search through the Brave Search API."""

from __future__ import annotations

import html
import re
from typing import Any, ClassVar, Literal

from harmony_agent.tools.browser._search._backend import AnswerTimeout, SearchResult
from harmony_agent.tools.browser._search._keyed import (
    ApiKeyEnv,
    ApiRequest,
    KeyedBackend,
    KeyedConfig,
)
from pydantic import Field

__all__ = ["BraveBackend", "BraveConfig"]

_MAX_COUNT = 20  # the API's limit on results per request
_TAG = re.compile(r"<[^>]+>")


class BraveConfig(KeyedConfig):
    """Settings of the Brave Search API backend."""

    kind: Literal["brave"] = "brave"
    api_key_env: ApiKeyEnv = "BRAVE_API_KEY"
    endpoint: str = Field(
        default="https://api.search.brave.com/res/v1/web/search",
        description="Web search endpoint (change it only for a proxy).",
    )
    timeout_s: AnswerTimeout = 15.0

    def build(self) -> BraveBackend:
        """The backend these settings describe."""
        return BraveBackend(self)


class BraveBackend(KeyedBackend[BraveConfig]):
    """Queries the web search endpoint with the `X-Subscription-Token` header; it gives 20
    results at most.
    """

    _service: ClassVar[str] = "Brave Search"
    _results_at: ClassVar[tuple[str, ...]] = ("web", "results")

    def _request(self, query: str, topn: int, key: str) -> ApiRequest:
        return ApiRequest(
            "GET",
            headers={"Accept": "application/json", "X-Subscription-Token": key},
            params={"q": query, "count": min(topn, _MAX_COUNT)},
        )

    def _result(self, item: dict[str, Any]) -> SearchResult:
        return SearchResult(
            title=_plain(item.get("title")),
            url=str(item["url"]),
            snippet=_plain(item.get("description")),
        )


def _plain(value: Any) -> str:
    """Brave marks query words with <strong>; the results page shows plain text."""
    return html.unescape(_TAG.sub("", str(value or "")))
