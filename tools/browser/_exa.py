"""Search through the Exa API."""

from __future__ import annotations

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

__all__ = ["ExaBackend", "ExaConfig"]


class ExaConfig(BaseModel):
    """Settings of the Exa search backend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["exa"] = "exa"
    api_key: SecretStr | None = Field(
        default=None, description="API key; when unset, read from `api_key_env` at use."
    )
    api_key_env: str = Field(
        default="EXA_API_KEY", description="Environment variable holding the API key."
    )
    endpoint: str = Field(
        default="https://api.exa.ai/search",
        description="Search endpoint (change it only for a proxy).",
    )
    timeout_s: float = Field(default=20.0, gt=0, description="Seconds to wait for an answer.")

    def build(self) -> ExaBackend:
        """The backend these settings describe."""
        return ExaBackend(self)


class ExaBackend(SearchBackend):
    """Queries `POST /search` with the `x-api-key` header, asking for highlights as snippets."""

    def __init__(self, config: ExaConfig) -> None:
        self._config = config

    async def start(self, fetch_page: PageFetcher) -> None:
        """Checks that an API key is set."""
        self._key()

    async def search(self, query: str, topn: int, http: httpx.AsyncClient) -> list[SearchResult]:
        """Returns up to `topn` results."""
        data = await request_json(
            http,
            "POST",
            self._config.endpoint,
            service="Exa",
            timeout_s=self._config.timeout_s,
            headers={"x-api-key": self._key()},
            body={"query": query, "numResults": topn, "contents": {"highlights": True}},
        )
        items = data.get("results") if isinstance(data, dict) else None
        if not isinstance(items, list):
            return []
        return [_result(item) for item in items if isinstance(item, dict) and item.get("url")][
            :topn
        ]

    def _key(self) -> str:
        return api_key(self._config.api_key, self._config.api_key_env, "Exa")


def _result(item: dict[str, Any]) -> SearchResult:
    highlights = item.get("highlights")
    if isinstance(highlights, list) and highlights:
        snippet = " … ".join(str(text) for text in highlights)
    else:
        snippet = str(item.get("summary") or item.get("text") or "")
    return SearchResult(title=str(item.get("title") or ""), url=str(item["url"]), snippet=snippet)
