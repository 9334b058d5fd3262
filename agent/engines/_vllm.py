"""`VLLMEngine`: vLLM's v1 `AsyncLLM` in this process, fed token ids, streaming token ids.

The only module that imports `vllm` (lazily, when an engine starts). Prompts go in as token
ids, nothing is tokenized or detokenized, prefix caching is on (each turn's prompt extends the
last one) and every request is one stream of deltas. The tokenizer is loaded only for
structured outputs, which compile a JSON Schema over the vocabulary. Install
`harmony-agent[vllm]` for GPUs or `harmony-agent[cpu]` for vLLM's CPU build.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import traceback
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from harmony_agent._errors import EngineError, EngineOutOfMemory, EngineUnavailable, ModelNotFound
from harmony_agent.engines._base import FinishReason, SamplingParams, TokenChunk
from harmony_agent.engines._stderr_tail import StderrTail
from pydantic import BaseModel, ConfigDict, Field, PositiveInt

if TYPE_CHECKING:
    from vllm.v1.engine.async_llm import AsyncLLM

__all__ = ["VLLMEngine", "VLLMSettings"]

_FINISH_REASONS = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "abort": FinishReason.ABORT,
}
_OUT_OF_MEMORY_SIGNS = (
    "out of memory",
    "OutOfMemoryError",
    "No available memory for the cache blocks",
    "larger than the available KV cache memory",
    "is less than desired CPU memory utilization",
    "less than requested memory for kv",
)
_MEMORY_ADVICE = (
    "lower max_model_len, or give the engine more memory (gpu_memory_utilization, "
    "kv_cache_memory_bytes), or use more GPUs (tensor_parallel_size)"
)


class VLLMSettings(BaseModel):
    """How to start an in-process vLLM engine.

    On a CPU, `gpu_memory_utilization` is the fraction of RAM vLLM reserves; set
    `kv_cache_memory_bytes` to size the KV cache directly (vLLM's CPU build also reads it, in
    GiB, from the environment variable `VLLM_CPU_KVCACHE_SPACE`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    model: str = Field(description="Checkpoint directory or hub id, e.g. openai/gpt-oss-20b.")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        default="auto", description="Weight and activation dtype; auto: as the checkpoint says."
    )
    max_model_len: PositiveInt | None = Field(
        default=None, description="Context window in tokens; None: the model's own."
    )
    gpu_memory_utilization: float = Field(
        default=0.9, gt=0.0, le=1.0, description="Fraction of accelerator memory vLLM may use."
    )
    kv_cache_memory_bytes: PositiveInt | None = Field(
        default=None,
        description="KV cache size in bytes; None: derived from gpu_memory_utilization.",
    )
    tensor_parallel_size: PositiveInt = Field(
        default=1, description="GPUs one model is split over."
    )
    quantization: str | None = Field(
        default=None,
        description="Weight quantization, e.g. mxfp4; None: as the checkpoint says (gpt-oss "
        "checkpoints ship mxfp4).",
    )
    enforce_eager: bool = Field(
        default=False, description="Skip CUDA graph capture (faster start)."
    )
    seed: int = Field(default=0, description="Seed of the engine's random sampling.")
    load_format: str = Field(
        default="auto", description="How to read weights, e.g. auto, safetensors."
    )
    structured_outputs: bool = Field(
        default=False,
        description="Load the model's tokenizer so that generations can be constrained to a "
        "JSON Schema (guided decoding with xgrammar, no whitespace between JSON tokens); "
        "needed for an agent's `constrain_output`.",
    )


class VLLMEngine:
    """An in-process vLLM engine that generates harmony tokens for many concurrent runs.

    Start it with `async with VLLMEngine(settings) as engine:` (or `await engine.start()` and
    later `await engine.aclose()`); `generate` also starts it on first use. Starting takes from
    seconds to minutes (loading weights, sizing the KV cache); closing ends the engine's
    processes. Closing a `generate` stream early aborts its request in the engine.
    """

    def __init__(self, settings: VLLMSettings) -> None:
        self._settings = settings
        self._llm: AsyncLLM | None = None
        self._stderr: StderrTail | None = None
        self._starting = asyncio.Lock()
        self._closed = False
        self._request_ids = itertools.count()

    @property
    def settings(self) -> VLLMSettings:
        """The settings this engine was made with."""
        return self._settings

    @property
    def max_model_len(self) -> int | None:
        """The context window: vLLM's once started, else the configured one (if any)."""
        if self._llm is not None:
            return int(self._llm.model_config.max_model_len)
        return self._settings.max_model_len

    @property
    def supports_json_schema(self) -> bool:
        """Whether generations can be constrained to a JSON Schema (`structured_outputs`)."""
        return self._settings.structured_outputs

    @property
    def llm(self) -> AsyncLLM | None:
        """VLLM's own `AsyncLLM` once started (for what this class does not wrap), else None."""
        return self._llm

    @property
    def unfinished_requests(self) -> int:
        """How many requests the engine is working on now (0 before it started)."""
        if self._llm is None:
            return 0
        return int(self._llm.output_processor.get_num_unfinished_requests())  # type: ignore[no-untyped-call]

    async def __aenter__(self) -> VLLMEngine:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Loads the model and starts the engine's processes (once; later calls return).

        Raises `EngineUnavailable` (vllm not installed, or the engine failed to start),
        `ModelNotFound` and `EngineOutOfMemory`.
        """
        await self._started()

    async def _started(self) -> AsyncLLM:
        async with self._starting:
            if self._closed:
                raise EngineError("the VLLMEngine is closed")
            if self._llm is None:
                return self._create()
            return self._llm

    def _create(self) -> AsyncLLM:
        _check_model_exists(self._settings.model)
        try:
            from vllm import AsyncEngineArgs
            from vllm.v1.engine.async_llm import AsyncLLM
        except ImportError as error:
            raise EngineUnavailable(
                f"vllm cannot be imported ({error}); install harmony-agent[vllm] on a GPU "
                "machine or harmony-agent[cpu] for vLLM's CPU build"
            ) from error
        settings = self._settings
        options: dict[str, Any] = settings.model_dump(exclude_none=True)
        if options.pop("structured_outputs"):
            options["structured_outputs_config"] = {
                "backend": "xgrammar",
                "disable_any_whitespace": True,
            }
        arguments = AsyncEngineArgs(
            **options,
            skip_tokenizer_init=not settings.structured_outputs,
            enable_prefix_caching=True,
            disable_log_stats=True,
        )
        try:
            config = arguments.create_engine_config()
        except (OSError, ValueError) as error:
            if _looks_missing(error):
                raise ModelNotFound(
                    f"model {settings.model!r} not found: give a checkpoint directory or a hub "
                    f"id that exists ({error})"
                ) from error
            raise EngineUnavailable(f"vLLM rejected the settings: {error}") from error
        stderr = StderrTail()
        try:
            # Straight to the attribute: vLLM keeps this frame alive, and a local holding the
            # engine would outlive `aclose`.
            self._llm = AsyncLLM.from_vllm_config(config, disable_log_stats=True)
        except Exception as error:
            # The frames hold the half-built engine, whose finalizer would run at exit.
            traceback.clear_frames(error.__traceback__)
            stderr.release()
            log = stderr.text()
            stderr.close()
            if any(sign in log or sign in str(error) for sign in _OUT_OF_MEMORY_SIGNS):
                raise EngineOutOfMemory(
                    f"{settings.model!r} does not fit: {_MEMORY_ADVICE}"
                ) from error
            raise EngineUnavailable(
                f"the vLLM engine for {settings.model!r} failed to start: {error} "
                "(its log above says why)"
            ) from error
        stderr.release()
        self._stderr = stderr
        return self._llm

    async def generate(
        self,
        prompt_tokens: Sequence[int],
        *,
        stop_token_ids: Sequence[int],
        max_tokens: int,
        sampling: SamplingParams,
    ) -> AsyncGenerator[TokenChunk, None]:
        """Streams the tokens that follow `prompt_tokens`; the stop token that ended the
        generation is the last token of the stream.
        """
        if sampling.json_schema is not None and not self.supports_json_schema:
            raise EngineError(
                "this VLLMEngine cannot constrain output to a JSON Schema: start it with "
                "VLLMSettings(structured_outputs=True)"
            )
        llm = await self._started()
        from vllm import SamplingParams as VllmSamplingParams
        from vllm.inputs import TokensPrompt
        from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

        room = llm.model_config.max_model_len - len(prompt_tokens)
        if room <= 0 or max_tokens <= 0:
            yield TokenChunk((), FinishReason.LENGTH)
            return
        params = VllmSamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k or 0,
            seed=sampling.seed,
            max_tokens=min(max_tokens, room),
            stop_token_ids=list(stop_token_ids),
            ignore_eos=True,
            detokenize=False,
            skip_special_tokens=False,
            output_kind=RequestOutputKind.DELTA,
            structured_outputs=None
            if sampling.json_schema is None
            else StructuredOutputsParams(json=dict(sampling.json_schema)),
        )
        stops = set(stop_token_ids)
        prompt = TokensPrompt(prompt_token_ids=list(prompt_tokens))
        request_id = f"harmony-agent-{next(self._request_ids)}"
        stream = llm.generate(prompt, params, request_id)
        async with contextlib.aclosing(stream):
            try:
                async for output in stream:
                    (completion,) = output.outputs
                    tokens = tuple(completion.token_ids)
                    if not output.finished:
                        if tokens:
                            yield TokenChunk(tokens)
                        continue
                    reason = _finish_reason(completion.finish_reason)
                    stop = completion.stop_reason
                    if (
                        reason is FinishReason.STOP
                        and isinstance(stop, int)
                        and stop in stops
                        and (not tokens or tokens[-1] != stop)
                    ):
                        tokens = (*tokens, stop)
                    yield TokenChunk(tokens, reason, output.num_cached_tokens)
                    return
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as error:
                raise self._failure(error) from error

    def _failure(self, error: Exception) -> EngineError:
        log = self._stderr.text() if self._stderr is not None else ""
        if any(sign in log or sign in str(error) for sign in _OUT_OF_MEMORY_SIGNS):
            return EngineOutOfMemory(f"the vLLM engine ran out of memory: {_MEMORY_ADVICE}")
        return EngineError(f"the vLLM engine failed: {type(error).__name__}: {error}")

    async def aclose(self) -> None:
        """Aborts what is running, ends the engine's processes and frees their memory."""
        async with self._starting:
            self._closed = True
            llm, self._llm = self._llm, None
            stderr, self._stderr = self._stderr, None
        if llm is not None:
            # Stop reading outputs first, so that ending the engine's processes is not
            # reported as an engine failure.
            handler = getattr(llm, "output_handler", None)
            if isinstance(handler, asyncio.Task):
                handler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await handler
            await asyncio.to_thread(llm.shutdown)
        if stderr is not None:
            await asyncio.to_thread(stderr.close)


def _finish_reason(reason: str | None) -> FinishReason:
    if reason in _FINISH_REASONS:
        return _FINISH_REASONS[reason]
    raise EngineError(f"the vLLM engine ended a request with {reason!r}")


def _check_model_exists(model: str) -> None:
    path = Path(model).expanduser()
    looks_like_path = model.startswith((".", os.sep, "~")) or path.exists()
    if looks_like_path and not (path / "config.json").is_file():
        raise ModelNotFound(f"no checkpoint at {model!r}: the directory has no config.json")


def _looks_missing(error: BaseException) -> bool:
    text = f"{type(error).__name__} {error}"
    return any(
        sign in text
        for sign in ("RepositoryNotFound", "does not exist", "not found", "No such file", "404")
    )
