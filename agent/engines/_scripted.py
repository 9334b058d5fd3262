"""An engine that plays a script of completions: for testing agents without a model."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Mapping, Sequence

from harmony_agent import _harmony
from harmony_agent._errors import EngineError, ScriptExhausted
from harmony_agent.engines._base import FinishReason, SamplingParams, TokenChunk

__all__ = ["ScriptedEngine"]

Completion = str | Sequence[int]
"""A completion: harmony text (special tokens spelled out) or token ids."""

_LAST_USER = re.compile(r"<\|start\|>user<\|message\|>(.*?)<\|end\|>", re.DOTALL)


class _Script:
    def __init__(self, name: str, completions: Sequence[Completion]) -> None:
        self.name = name
        self.completions = [
            _harmony.encode_completion(c) if isinstance(c, str) else list(c) for c in completions
        ]
        self.position = 0

    def next(self, prompt: Sequence[int]) -> list[int]:
        if self.position >= len(self.completions):
            tail = _harmony.decode(prompt[-60:])
            raise ScriptExhausted(
                f"{self.name} got generate call {self.position + 1} but holds "
                f"{len(self.completions)} completions; the prompt ends with: {tail!r}"
            )
        self.position += 1
        return self.completions[self.position - 1]


class ScriptedEngine:
    """Streams scripted completions, one per `generate` call, like a model would.

    Each completion is the text the model writes after the prompt's `<|start|>assistant`, e.g.
    `"<|channel|>final<|message|>Hi!<|return|>"`. Like a real engine it stops at the first stop
    token and at `max_tokens`. Every prompt it receives is kept in `prompts`. A call beyond the
    end of the script raises `ScriptExhausted`; `assert_consumed()` checks that none is left.

    For many concurrent runs on one engine, `ScriptedEngine.routed` keeps one script per
    conversation, chosen by a key found in the prompt's last user message.
    """

    def __init__(
        self,
        completions: Sequence[Completion],
        *,
        token_delay: float = 0.0,
        max_model_len: int | None = None,
    ) -> None:
        self._scripts = {"": _Script("the script", completions)}
        self._token_delay = token_delay
        self._max_model_len = max_model_len
        self._closed = False
        self.prompts: list[list[int]] = []
        """Every prompt received, in order of the `generate` calls."""
        self.samplings: list[SamplingParams] = []
        """The sampling of every `generate` call, in order."""

    @classmethod
    def routed(
        cls,
        scripts: Mapping[str, Sequence[Completion]],
        *,
        token_delay: float = 0.0,
        max_model_len: int | None = None,
    ) -> ScriptedEngine:
        """Builds an engine with one script per key; a prompt is served by the script whose key
        occurs in its last user message.
        """
        engine = cls([], token_delay=token_delay, max_model_len=max_model_len)
        engine._scripts = {key: _Script(f"the script for {key!r}", c) for key, c in scripts.items()}
        return engine

    @property
    def max_model_len(self) -> int | None:
        """The context window this engine pretends to have, if any."""
        return self._max_model_len

    @property
    def supports_json_schema(self) -> bool:
        """True: it accepts a JSON Schema constraint (recorded in `samplings`; the script
        plays as written).
        """
        return True

    async def generate(
        self,
        prompt_tokens: Sequence[int],
        *,
        stop_token_ids: Sequence[int],
        max_tokens: int,
        sampling: SamplingParams,
    ) -> AsyncGenerator[TokenChunk, None]:
        """Streams the next completion of the matching script, token by token."""
        if self._closed:
            raise EngineError("the ScriptedEngine is closed")
        self.prompts.append(list(prompt_tokens))
        self.samplings.append(sampling)
        completion = self._script_for(prompt_tokens).next(prompt_tokens)
        stops = set(stop_token_ids)
        for count, token in enumerate(completion, start=1):
            if self._token_delay:
                await asyncio.sleep(self._token_delay)
            if token in stops:
                yield TokenChunk((token,), FinishReason.STOP)
                return
            if count == max_tokens:
                yield TokenChunk((token,), FinishReason.LENGTH)
                return
            yield TokenChunk((token,))
        yield TokenChunk((), FinishReason.STOP)

    def assert_consumed(self) -> None:
        """Raises AssertionError if a script still has completions nobody asked for."""
        left = {
            script.name: len(script.completions) - script.position
            for script in self._scripts.values()
            if script.position < len(script.completions)
        }
        if left:
            raise AssertionError(f"completions left unplayed: {left}")

    async def aclose(self) -> None:
        """Closes the engine; later `generate` calls raise `EngineError`."""
        self._closed = True

    def _script_for(self, prompt: Sequence[int]) -> _Script:
        if "" in self._scripts:
            return self._scripts[""]
        users = _LAST_USER.findall(_harmony.decode(prompt))
        last_user = users[-1] if users else ""
        keys = [key for key in self._scripts if key in last_user]
        if not keys:
            raise ScriptExhausted(f"no script's key occurs in the last user message {last_user!r}")
        return self._scripts[max(keys, key=len)]
