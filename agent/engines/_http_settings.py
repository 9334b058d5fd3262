"""`HTTPSettings`: where and how an `HTTPEngine` reaches its OpenAI-compatible servers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    TypeAdapter,
    field_validator,
)

__all__ = ["HTTPSettings"]

_HTTP_URL = TypeAdapter(HttpUrl)
_ENGINE_FIELDS = frozenset(
    {
        "model",
        "prompt",
        "max_tokens",
        "stream",
        "stream_options",
        "stop_token_ids",
        "include_stop_str_in_output",
        "skip_special_tokens",
        "return_token_ids",
        "temperature",
        "top_p",
        "top_k",
        "seed",
        "structured_outputs",
    }
)
"""The request fields the engine sets (`HTTPSettings.extra_body` may not)."""


class HTTPSettings(BaseModel):
    """Where and how an `HTTPEngine` reaches its servers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_urls: Sequence[str] = Field(
        min_length=1,
        description=(
            "The API root of each replica, as for an OpenAI client, e.g. "
            "`http://gpu-host:8000/v1`; requests go to `{base_url}/completions`."
        ),
    )
    model: str = Field(min_length=1, description="The served model name the servers expect.")
    api_key: SecretStr | None = Field(
        default=None, description="Sent as `Authorization: Bearer ...` (vLLM's `--api-key`)."
    )
    connect_timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=5.0, description="Seconds to wait for a connection to a replica."
    )
    read_timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=300.0,
        description=(
            "Seconds a stream may go without a generated token (prefill included; keep-alive "
            "comments and empty events do not count) before failing."
        ),
    )
    max_retries: Annotated[int, Field(ge=0)] = Field(
        default=3, description="Extra attempts for a request that failed before its first token."
    )
    backoff_initial_s: Annotated[float, Field(ge=0)] = Field(
        default=0.5, description="Wait before the first retry when no other replica is healthy."
    )
    backoff_max_s: Annotated[float, Field(ge=0)] = Field(
        default=8.0, description="Longest wait between attempts, a server's Retry-After included."
    )
    replica_cooldown_s: Annotated[float, Field(ge=0)] = Field(
        default=10.0, description="Seconds a replica that failed is skipped, if others are healthy."
    )
    run_affinity: bool = Field(
        default=True,
        description=(
            "Send every request of a run (a chat, a batch task, a server conversation) to the "
            "same replica, where its earlier turns sit in the prefix cache; false: each "
            "request to the replica with the fewest requests in flight (for servers without "
            "prefix caching)."
        ),
    )
    replica_max_outstanding: Annotated[int, Field(gt=0)] | None = Field(
        default=None,
        description=(
            "This engine's requests in flight on one replica from which a run's request "
            "spills to the next replica in that run's ranking (when all are at it, the least "
            "loaded takes it); None: no cap, a run leaves its replica only when it is down."
        ),
    )
    max_model_len: Annotated[int, Field(gt=0)] | None = Field(
        default=None,
        description="The context window; None: read `max_model_len` from the server's /models.",
    )

    extra_body: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Server-specific fields added to every completion request, e.g. vLLM's "
            "`priority` or `repetition_penalty`; the fields the engine sets are refused."
        ),
    )

    @field_validator("extra_body")
    @classmethod
    def _extra_body_adds_only(cls, value: dict[str, Any]) -> dict[str, Any]:
        taken = sorted(set(value) & _ENGINE_FIELDS)
        if taken:
            raise ValueError(f"the engine sets {taken} itself; remove them from extra_body")
        return value

    @field_validator("base_urls", mode="before")
    @classmethod
    def _urls_as_tuple(cls, value: object) -> object:
        if isinstance(value, str):
            return (value,)
        return tuple(value) if isinstance(value, list) else value

    @field_validator("base_urls")
    @classmethod
    def _urls_are_http(cls, value: Sequence[str]) -> tuple[str, ...]:
        return tuple(str(_HTTP_URL.validate_python(url)).rstrip("/") for url in value)
