"""Per-turn host overhead of the agent loop against transcript size.

One turn is: parse the model's tool call, route it, run a no-op tool, render its result and
append it, then start the next generation. The engine replays a pre-encoded call instantly, so
what is timed is the runtime's own work (the time between two consecutive `generate` calls).

The baseline does what the gpt-oss reference chat does every turn: re-render the whole
conversation with harmony and parse the completion with harmony's parser.

Run: .venv/bin/python bench/turn_overhead.py  (writes bench/results/turn_overhead.md)
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import time
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path

import openai_harmony as oh
from harmony_agent import Agent, tool
from harmony_agent._harmony import decode, encode_completion, encode_text
from harmony_agent.engines import FinishReason, SamplingParams, TokenChunk

SIZES = (1_000, 8_000, 32_000, 128_000)
TURNS = 200
BASELINE_TURNS = 20
CALL = (
    "<|channel|>analysis<|message|>Look it up.<|end|><|start|>assistant<|channel|>commentary "
    'to=functions.lookup <|constrain|>json<|message|>{"key": "abc"}<|call|>'
)
FINAL = "<|channel|>final<|message|>Done.<|return|>"


@tool
async def lookup(key: str) -> str:
    """Looks up a key."""
    return "value"


class ReplayEngine:
    """Replays pre-encoded completions at once and notes when each generation starts."""

    def __init__(self, completions: Sequence[Sequence[int]]) -> None:
        self._completions = [tuple(c) for c in completions]
        self.starts: list[float] = []
        self.prompt_lengths: list[int] = []

    @property
    def max_model_len(self) -> int | None:
        return None

    async def generate(
        self,
        prompt_tokens: Sequence[int],
        *,
        stop_token_ids: Sequence[int],
        max_tokens: int,
        sampling: SamplingParams,
    ) -> AsyncGenerator[TokenChunk, None]:
        self.starts.append(time.perf_counter())
        self.prompt_lengths.append(len(prompt_tokens))
        yield TokenChunk(self._completions[len(self.starts) - 1], FinishReason.STOP)

    async def aclose(self) -> None:
        return None


def filler(tokens: int) -> str:
    """A user message of about `tokens` tokens."""
    unit = "The quick brown fox jumps over the lazy dog. "
    text = unit * (tokens // len(encode_text(unit)) + 1)
    return decode(encode_text(text)[:tokens])


def runtime_turns(size: int) -> tuple[list[float], tuple[int, int]]:
    completions = [encode_completion(CALL)] * TURNS + [encode_completion(FINAL)]
    engine = ReplayEngine(completions)
    agent = Agent(engine=engine, tools=[lookup], max_turns=TURNS + 1, current_date="2026-11-24")
    result = asyncio.run(agent.arun(filler(size)))
    assert result.final_text == "Done.", result.stop_reason
    gaps = [b - a for a, b in zip(engine.starts, engine.starts[1:], strict=False)]
    return gaps, (engine.prompt_lengths[0], engine.prompt_lengths[-1])


def baseline_turns(size: int) -> list[float]:
    encoding = oh.load_harmony_encoding(oh.HarmonyEncodingName.HARMONY_GPT_OSS)
    developer = oh.DeveloperContent.new().with_function_tools(
        [oh.ToolDescription.new("lookup", "Looks up a key.", {"type": "object", "properties": {}})]
    )
    messages = [
        oh.Message.from_role_and_content(oh.Role.SYSTEM, oh.SystemContent.new()),
        oh.Message.from_role_and_content(oh.Role.DEVELOPER, developer),
        oh.Message.from_role_and_content(oh.Role.USER, filler(size)),
    ]
    completion = encode_completion(CALL)
    times = []
    for _ in range(BASELINE_TURNS):
        started = time.perf_counter()
        parsed = encoding.parse_messages_from_completion_tokens(completion, oh.Role.ASSISTANT)
        messages.extend(parsed)
        result = oh.Message.from_author_and_content(
            oh.Author.new(oh.Role.TOOL, "functions.lookup"), "value"
        ).with_channel("commentary")
        messages.append(result.with_recipient("assistant"))
        encoding.render_conversation_for_completion(
            oh.Conversation.from_messages(messages), oh.Role.ASSISTANT
        )
        times.append(time.perf_counter() - started)
    return times


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1]


def main() -> None:
    rows = []
    for size in SIZES:
        gaps, (first, last) = runtime_turns(size)
        baseline = baseline_turns(size)
        rows.append(
            {
                "transcript_tokens_first": first,
                "transcript_tokens_last": last,
                "runtime_median_ms": statistics.median(gaps) * 1e3,
                "runtime_p99_ms": quantile(gaps, 0.99) * 1e3,
                "rerender_median_ms": statistics.median(baseline) * 1e3,
            }
        )
        print(json.dumps(rows[-1]))
    lines = [
        "# Per-turn host overhead",
        "",
        "Command: `.venv/bin/python bench/turn_overhead.py`",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{TURNS} turns per size (runtime), {BASELINE_TURNS} (re-render baseline).",
        "",
        "A turn: parse a tool call, route it, run a no-op tool, render and append its result, "
        "start the next generation (the engine replays instantly). Baseline: re-render the "
        "whole conversation and parse the completion with harmony every turn, as the gpt-oss "
        "reference chat does.",
        "",
        "| transcript tokens (first → last turn) | runtime median ms | runtime p99 ms "
        "| re-render median ms |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['transcript_tokens_first']:,} → {r['transcript_tokens_last']:,} "
        f"| {r['runtime_median_ms']:.3f} | {r['runtime_p99_ms']:.3f} "
        f"| {r['rerender_median_ms']:.2f} |"
        for r in rows
    ]
    out = Path(__file__).parent / "results" / "turn_overhead.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
