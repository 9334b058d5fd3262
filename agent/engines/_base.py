"""The engine interface: token ids in, a stream of token ids out.

Nothing else about the model reaches the agent loop. Every engine, real or scripted, fits this
shape (the gpt-oss reference `token_generator` does the same).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

__all__ = ["Engine", "FinishReason", "SamplingParams", "TokenChunk", "supports_json"]


class FinishReason(StrEnum):
    """Why a generation ended."""

    STOP = "stop"
    """A stop token was generated (it is the last token of the stream)."""
    LENGTH = "length"
    """`max_tokens` was reached, or the context window is full."""
    ABORT = "abort"
    """The engine gave up on the request (aborted or preempted for good)."""


@dataclass(frozen=True)
class SamplingParams:
    """How to pick tokens. `temperature=0` is greedy decoding.

    `json_schema` constrains every generated token to JSON matching the schema (guided
    decoding; the agent sets it for a constrained final answer). It is only sent to engines
    whose `supports_json_schema` is true (`Agent` checks); VLLMEngine without structured
    outputs raises `EngineError`.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int | None = None
    seed: int | None = None
    json_schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class TokenChunk:
    """Newly generated token ids; the last chunk of a stream carries `finish_reason`.

    A stop token that ended the generation is included in `token_ids`. `cached_prompt_tokens`
    is how many prompt tokens the engine served from its prefix cache, where it reports that
    (on the last chunk only).
    """

    token_ids: tuple[int, ...]
    finish_reason: FinishReason | None = None
    cached_prompt_tokens: int | None = None


@runtime_checkable
class Engine(Protocol):
    """Generates harmony tokens; safe to share between many concurrent runs on one loop.

    Closing the returned generator early (or cancelling the task that consumes it) must abort
    the request in the engine. An engine that can constrain generation to a JSON Schema
    (`SamplingParams.json_schema`) says so with a true `supports_json_schema` attribute, which
    is optional: engines without it are not asked to.
    """

    def generate(
        self,
        prompt_tokens: Sequence[int],
        *,
        stop_token_ids: Sequence[int],
        max_tokens: int,
        sampling: SamplingParams,
    ) -> AsyncGenerator[TokenChunk, None]:
        """Streams the tokens that follow `prompt_tokens` until a stop token or `max_tokens`.

        Implement it as an async generator: the loop closes it (`aclose()`) when it stops
        listening, and that must abort the request. `prompt_tokens` is only read during the
        call; engines must not keep or mutate it.
        """
        ...

    @property
    def max_model_len(self) -> int | None:
        """The context window in tokens (prompt plus generation), where the engine knows it."""
        ...

    async def aclose(self) -> None:
        """Releases the engine's resources; the engine cannot be used afterwards."""
        ...


def supports_json(engine: Engine) -> bool:
    """Whether `engine` can constrain generation to a JSON Schema (its optional
    `supports_json_schema` attribute says so).
    """
    return getattr(engine, "supports_json_schema", False) is True
