"""An engine wrapper that records what a real engine was asked and what it answered."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field

from harmony_agent.engines import Engine, SamplingParams, TokenChunk, supports_json


@dataclass
class RecordingEngine:
    """Passes every call to `engine`; keeps each prompt and the tokens generated for it."""

    engine: Engine
    prompts: list[list[int]] = field(default_factory=list)
    completions: list[list[int]] = field(default_factory=list)

    @property
    def max_model_len(self) -> int | None:
        return self.engine.max_model_len

    @property
    def supports_json_schema(self) -> bool:
        return supports_json(self.engine)

    async def generate(
        self,
        prompt_tokens: Sequence[int],
        *,
        stop_token_ids: Sequence[int],
        max_tokens: int,
        sampling: SamplingParams,
    ) -> AsyncGenerator[TokenChunk, None]:
        self.prompts.append(list(prompt_tokens))
        completion: list[int] = []
        self.completions.append(completion)
        stream = self.engine.generate(
            prompt_tokens, stop_token_ids=stop_token_ids, max_tokens=max_tokens, sampling=sampling
        )
        async for chunk in stream:
            completion.extend(chunk.token_ids)
            yield chunk

    async def aclose(self) -> None:
        """The wrapped engine belongs to the caller: nothing to release."""
