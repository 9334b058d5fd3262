"""What the search APIs that take an API key share: their settings and how they are called."""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import httpx
from harmony_agent.sandbox._errors import ConfigError
from harmony_agent.tools.browser._search._backend import (
    AnswerTimeout,
    PageFetcher,
    SearchBackend,
    SearchResult,
    hits,
    request_json,
)
from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["ApiKeyEnv", "ApiRequest", "KeyedBackend", "KeyedConfig"]

ApiKeyEnv = Annotated[str, Field(description="Environment variable holding the API key.")]
"""The `api_key_env` setting; each service names its own variable as the default."""


class KeyedConfig(BaseModel):
    """Settings of a search API that takes an API key. Each service narrows `kind` to its
    name and gives `api_key_env`, `endpoint` and `timeout_s` their defaults (`kind` is
    declared here so that it comes first, in configs and in the JSON Schema).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    api_key: SecretStr | None = Field(
        default=None, description="API key; when unset, read from `api_key_env` at use."
    )
    api_key_env: ApiKeyEnv
    endpoint: str
    timeout_s: AnswerTimeout


@dataclass(frozen=True)
class ApiRequest:
    """One call to a search API: its method, headers (the key among them), and either query
    parameters or a JSON body.
    """

    method: str
    headers: Mapping[str, str]
    params: Mapping[str, str | int] | None = None
    body: Mapping[str, Any] | None = None


ConfigT = TypeVar("ConfigT", bound=KeyedConfig)


class KeyedBackend(SearchBackend, Generic[ConfigT]):
    """Calls a search API at the configured endpoint with the API key, which it checks when a
    run starts. A service says how it asks (`_request`), where its answer lists the results
    (`_results_at`) and what one result shows (`_result`).
    """

    _service: ClassVar[str]
    """The service's name in error messages."""
    _results_at: ClassVar[tuple[str, ...]]
    """The keys leading to the list of results in the service's JSON answer."""

    def __init__(self, config: ConfigT) -> None:
        self._config = config

    async def start(self, fetch_page: PageFetcher) -> None:
        """Checks that an API key is set."""
        self._key()

    async def search(self, query: str, topn: int, http: httpx.AsyncClient) -> list[SearchResult]:
        """Returns up to `topn` results."""
        request = self._request(query, topn, self._key())
        data = await request_json(
            http,
            request.method,
            self._config.endpoint,
            service=self._service,
            timeout_s=self._config.timeout_s,
            headers=request.headers,
            params=request.params,
            body=request.body,
        )
        return [self._result(item) for item in hits(data, *self._results_at)][:topn]

    @abstractmethod
    def _request(self, query: str, topn: int, key: str) -> ApiRequest:
        """The call that asks the service for `topn` results of `query`, sending `key`."""

    @abstractmethod
    def _result(self, item: dict[str, Any]) -> SearchResult:
        """The result for one item of the answer's list (it has a `url`)."""

    def _key(self) -> str:
        """The API key from the config, else from its environment variable (read now)."""
        configured = self._config.api_key
        if configured is not None and configured.get_secret_value():
            return configured.get_secret_value()
        value = os.environ.get(self._config.api_key_env, "")
        if not value:
            raise ConfigError(
                f"{self._service} needs an API key: set `api_key` in the browser's search "
                f"settings or the {self._config.api_key_env} environment variable."
            )
        return value
