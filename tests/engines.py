"""Engines for tests that model a misbehaving server."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

from harmony_agent.engines import SamplingParams, ScriptedEngine, TokenChunk


class StopIgnoringEngine(ScriptedEngine):
    """A server that does not stop at stop tokens (misconfigured, or `ignore_eos`): it plays
    each completion to its end."""

    async def generate(
        self,
        prompt_tokens: Sequence[int],
        *,
        stop_token_ids: Sequence[int],
        max_tokens: int,
        sampling: SamplingParams,
    ) -> AsyncGenerator[TokenChunk, None]:
        async for chunk in super().generate(
            prompt_tokens, stop_token_ids=(), max_tokens=max_tokens, sampling=sampling
        ):
            yield chunk
