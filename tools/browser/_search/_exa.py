"""Search through the Exa API."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from harmony_agent.tools.browser._search._backend import AnswerTimeout, SearchResult
from harmony_agent.tools.browser._search._keyed import (
    ApiKeyEnv,
    ApiRequest,
    KeyedBackend,
    KeyedConfig,
)
from pydantic import Field

__all__ = ["ExaBackend", "ExaConfig"]


class ExaConfig(KeyedConfig):
    """Settings of the Exa search backend."""

    kind: Literal["exa"] = "exa"
    api_key_env: ApiKeyEnv = "EXA_API_KEY"
    endpoint: str = Field(
        default="https://api.exa.ai/search",
        description="Search endpoint (change it only for a proxy).",
    )
    timeout_s: AnswerTimeout = 20.0

    def build(self) -> ExaBackend:
        """The backend these settings describe."""
        return ExaBackend(self)


class ExaBackend(KeyedBackend[ExaConfig]):
    """Queries `POST /search` with the `x-api-key` header, asking for highlights as snippets."""

    _service: ClassVar[str] = "Exa"
    _results_at: ClassVar[tuple[str, ...]] = ("results",)

    def _request(self, query: str, topn: int, key: str) -> ApiRequest:
        return ApiRequest(
            "POST",
            headers={"x-api-key": key},
            body={"query": query, "numResults": topn, "contents": {"highlights": True}},
        )

    def _result(self, item: dict[str, Any]) -> SearchResult:
        highlights = item.get("highlights")
        if isinstance(highlights, list) and highlights:
            snippet = " … ".join(str(text) for text in highlights)
        else:
            snippet = str(item.get("summary") or item.get("text") or "")
        return SearchResult(
            title=str(item.get("title") or ""), url=str(item["url"]), snippet=snippet
        )
