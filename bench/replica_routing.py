"""Routing over replicas and the prefix cache: how many prompt tokens each run gets from it.

Two `vllm serve` replicas of the tiny checkpoint on the CPU, each bound to its own core
(vLLM's `VLLM_CPU_OMP_THREADS_BIND`), with prefix caching on in blocks of `BLOCK_SIZE` tokens
and cached tokens reported (`--enable-prompt-tokens-details`). Eight runs go at once through one
`HTTPEngine`, each a chat of two tiny-checkpoint tasks (the second asked with the first as its
history), each task two generations (a `get_weather` or python call, then the answer after its
result), under three routings:

- one replica alone (the target: every turn finds the run's earlier turns in the cache);
- both replicas, least outstanding requests first (`run_affinity=False`, the old routing);
- both replicas, every request of a run to one replica (`run_affinity=True`, the default).

Each routing runs `REPEATS` times from each of two starts; before each, both servers' prefix
caches are emptied (`POST /reset_prefix_cache`, which vLLM serves with `VLLM_SERVER_DEV_MODE=1`):

- cold: nothing more, so every replica computes the preamble all runs share (system and
  developer messages) for its first runs;
- warm: then one request of that preamble to each replica the routing uses (one replica alone
  too), as a deployed replica has served it long before: the fair comparison, since run
  affinity cannot spare the second replica that computation.

A run's cached prompt tokens are `RunResult.usage.cached_prompt_tokens`, the sum of the
servers' `cached_tokens` over its generations; each request's, with the replica it went to, is
logged too (`RecordingRun`, `TracingHTTPEngine`). The machine's load only changes how long
this takes, not the counts. Why chats, and why `--context`: with this checkpoint (sliding-window
and full attention layers) on vLLM's CPU backend, hits came in whole prompt blocks a request had
prefilled, never in blocks its generation filled (a task's second generation, 318 tokens after
a 280-token prompt and 24 generated, found 256 cached on the same replica; by its default
`prefix_cache_retention_interval=0`, vLLM keeps the sliding-window layers' KV only where a prompt
ended and at shared-prefix junctions), and a tiny task adds too little to the shared preamble
for a block of its own: as trained, no run has anything of its own to find, whatever the
routing. A note of its own
before each run's first question gives it prompt blocks of its own for its later generations.
Python is the stand-in that evaluates `print(A*B)` (`ProductPython`), which shows the model the
real tool's namespace.

With `--context`, each run's first question comes after a note of its own (`CONTEXT_ENTRIES`
entries, about 250 tokens; the tiny model was not trained on such prompts and answers them
wrong, which does not matter here).

Run from the repository root: .venv/bin/python -m bench.replica_routing [--context]
(loads the shipped tiny checkpoint; writes bench/results/replica_routing.md, with `--context`
bench/results/replica_routing_context.md)
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
from collections.abc import AsyncGenerator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from harmony_agent import RunResult
from harmony_agent.engines import Engine, HTTPEngine, HTTPSettings, SamplingParams, TokenChunk
from harmony_agent.engines._replicas import Replica
from harmony_agent.tiny import TinyCheckpoint, build_checkpoint, tiny_agent
from harmony_agent.tiny._tasks import ProductPython, Task, WeatherTask
from harmony_agent.tools.python import PythonTool

from tests.e2e.vllm_server import VLLMServer

RUNS = 8
QUESTIONS = 2
"""Tasks asked one after the other in each run's chat."""
REPEATS = 3
CORES = ("0", "1")
"""The core each replica's engine is bound to."""
BLOCK_SIZE = 32
"""Tokens per KV-cache block, the unit of a prefix-cache hit: the smallest the CPU attention
kernel takes (it needs multiples of 32; vLLM's default on a GPU is 16). The CPU backend's
default, 128, is longer than what a tiny run adds to its prompt in a turn, so no run's own
tokens would fill a block and every hit would be the preamble that all runs share.
"""
CONTEXT_ENTRIES = 40
"""Entries in the note before a run's first question, with `--context`."""
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Routing:
    """One way to route: over how many replicas, with or without run affinity."""

    name: str
    replicas: int
    run_affinity: bool


ROUTINGS = (
    Routing("one replica alone", 1, True),
    Routing("two replicas, least outstanding (before)", 2, False),
    Routing("two replicas, run affinity (after)", 2, True),
)


@dataclass(frozen=True)
class Start:
    """What a replica's prefix cache holds when a repeat starts."""

    name: str
    warm: bool
    """True: the shared preamble, sent once to each replica the routing uses; else nothing."""


STARTS = (Start("cold", False), Start("warm", True))


@dataclass(frozen=True)
class Request:
    """One generation as it was served: whose, which, where, and what the cache gave it."""

    run: int
    generation: int
    """Its place among its run's generations, over both questions."""
    prompt_tokens: int
    cached_prompt_tokens: int
    replica: str
    """The base URL of the replica that answered it."""


class TracingHTTPEngine(HTTPEngine):
    """An `HTTPEngine` that remembers which replica each prompt was last sent to."""

    def __init__(self, settings: HTTPSettings) -> None:
        super().__init__(settings)
        self.sent_to: dict[tuple[int, ...], str] = {}

    async def _send(self, replica: Replica, body: dict[str, Any]) -> httpx.Response:
        self.sent_to[tuple(body["prompt"])] = replica.url
        return await super()._send(replica, body)


class RecordingRun:
    """The engine one run sees: the shared engine, with each of its generations logged."""

    def __init__(self, engine: TracingHTTPEngine, run: int, log: list[Request]) -> None:
        self._engine = engine
        self._run = run
        self._log = log
        self._generations = 0

    @property
    def max_model_len(self) -> int | None:
        """The shared engine's context window."""
        return self._engine.max_model_len

    async def aclose(self) -> None:
        """Nothing: the shared engine is closed by whoever opened it."""

    async def generate(
        self,
        prompt_tokens: Sequence[int],
        *,
        stop_token_ids: Sequence[int],
        max_tokens: int,
        sampling: SamplingParams,
    ) -> AsyncGenerator[TokenChunk, None]:
        """The shared engine's stream; logs the request at its last chunk (the agent stops
        reading there).
        """
        prompt = tuple(prompt_tokens)
        stream = self._engine.generate(
            prompt, stop_token_ids=stop_token_ids, max_tokens=max_tokens, sampling=sampling
        )
        async for chunk in stream:
            if chunk.finish_reason is not None:
                replica = self._engine.sent_to.pop(prompt)
                cached = chunk.cached_prompt_tokens or 0
                request = Request(self._run, self._generations, len(prompt), cached, replica)
                self._log.append(request)
                self._generations += 1
            yield chunk


async def reset_prefix_caches(servers: Sequence[VLLMServer]) -> None:
    """Empties every server's prefix cache (nothing may be running)."""
    async with httpx.AsyncClient(timeout=60) as client:
        for server in servers:
            url = server.base_url.removesuffix("/v1") + "/reset_prefix_cache"
            response = await client.post(url)
            response.raise_for_status()
            if response.json().get("success") is False:
                raise RuntimeError(f"{url} did not empty the cache: {response.text}")


async def send_preamble(server: VLLMServer, python: ProductPython) -> None:
    """One request to `server` of the preamble every run shares (system and developer
    messages), one token generated: what a deployed replica has served long before.
    """
    settings = HTTPSettings(base_urls=[server.base_url], model=server.served_model_name)
    async with HTTPEngine(settings) as engine:
        preamble = tiny_agent(engine, python=python).render_preamble()
        stream = engine.generate(
            preamble, stop_token_ids=(), max_tokens=1, sampling=SamplingParams(temperature=0)
        )
        async for _ in stream:
            pass


async def run_all(
    servers: Sequence[VLLMServer],
    start: Start,
    routing: Routing,
    tasks: Sequence[Task],
    python: ProductPython,
    context: bool,
) -> tuple[list[list[RunResult]], list[Request]]:
    """The runs at once through one engine over the routing's replicas, from `start`: each
    run's chat asks its tasks in order; the results of each, and every request served.
    """
    await reset_prefix_caches(servers)
    used = servers[: routing.replicas]
    if start.warm:
        for server in used:
            await send_preamble(server, python)
    settings = HTTPSettings(
        base_urls=[server.base_url for server in used],
        model=servers[0].served_model_name,
        run_affinity=routing.run_affinity,
    )
    log: list[Request] = []
    engine = TracingHTTPEngine(settings)
    async with engine:

        async def chat(run: int) -> list[RunResult]:
            recording: Engine = RecordingRun(engine, run, log)
            results: list[RunResult] = []
            for task in tasks[run::RUNS]:
                temperature = task.temperature_c if isinstance(task, WeatherTask) else 0
                agent = tiny_agent(recording, python=python, temperature_c=temperature)
                question = task.question
                if context and not results:
                    question = f"{note(run)}\n\n{question}"
                history = results[-1] if results else None
                results.append(await agent.arun(question, history=history))
            return results

        chats = list(await asyncio.gather(*(chat(run) for run in range(RUNS))))
    return chats, log


def note(run: int) -> str:
    """The note of its own before run `run`'s first question, with `--context`."""
    entries = ", ".join(f"entry {run}.{k}" for k in range(CONTEXT_ENTRIES))
    return f"Notes for request {run}: {entries}."


@dataclass(frozen=True)
class Configuration:
    """A routing from a start."""

    start: Start
    routing: Routing

    @property
    def name(self) -> str:
        """How the tables call it."""
        return f"{self.start.name}: {self.routing.name}"


CONFIGURATIONS = tuple(Configuration(start, routing) for start in STARTS for routing in ROUTINGS)


async def measure(checkpoint: TinyCheckpoint, python: ProductPython, context: bool) -> list[str]:
    """The per-run table, the totals of every configuration and its requests of one repeat."""
    tasks = list(checkpoint.verified[: RUNS * QUESTIONS])
    cached: dict[str, list[list[int]]] = {c.name: [] for c in CONFIGURATIONS}
    first: dict[str, list[int]] = {c.name: [] for c in CONFIGURATIONS}
    requests: dict[str, list[Request]] = {}
    prompts: list[int] = []
    turns: list[int] = []
    correct: dict[str, int] = {c.name: 0 for c in CONFIGURATIONS}
    async with AsyncExitStack() as stack:
        servers = [
            VLLMServer(
                checkpoint.path,
                args=["--enable-prefix-caching", "--block-size", str(BLOCK_SIZE)],
                env={"VLLM_CPU_OMP_THREADS_BIND": core, "VLLM_SERVER_DEV_MODE": "1"},
            )
            for core in CORES
        ]
        await asyncio.gather(*(stack.enter_async_context(server) for server in servers))
        names = {
            server.base_url: "A" if index == 0 else "B" for index, server in enumerate(servers)
        }
        for repeat in range(REPEATS):
            for configuration in CONFIGURATIONS:
                name = configuration.name
                chats, log = await run_all(
                    servers, configuration.start, configuration.routing, tasks, python, context
                )
                cached[name].append(
                    [sum(r.usage.cached_prompt_tokens for r in chat) for chat in chats]
                )
                first[name].append(sum(r.cached_prompt_tokens for r in log if r.generation == 0))
                requests.setdefault(name, log)
                prompts = [sum(r.usage.prompt_tokens for r in chat) for chat in chats]
                turns = [sum(r.usage.turns for r in chat) for chat in chats]
                correct[name] += sum(
                    r.final_text == task.expected_answer()
                    for run, chat in enumerate(chats)
                    for r, task in zip(chat, tasks[run::RUNS], strict=True)
                )
                print(f"repeat {repeat + 1}, {name}: {cached[name][-1]}")
    return [
        *per_run(tasks, cached, turns, prompts),
        "",
        *totals(cached, first, correct, prompts),
        "",
        *per_request(requests, names),
    ]


def per_run(
    tasks: Sequence[Task], cached: dict[str, list[list[int]]], turns: list[int], prompts: list[int]
) -> list[str]:
    """Each run's cached prompt tokens under every configuration, the median of the repeats."""
    lines = [
        f"## Cached prompt tokens per run (median of {REPEATS} repeats)",
        "",
        "| run | questions | generations | prompt tokens | " + " | ".join(cached) + " |",
        "|---|---|---|---|" + "---|" * len(cached),
    ]
    for index in range(RUNS):
        questions = " / ".join(task.question for task in tasks[index::RUNS])
        medians = [statistics.median(repeat[index] for repeat in cached[n]) for n in cached]
        lines.append(
            f"| {index} | {questions} | {turns[index]} | {prompts[index]} | "
            + " | ".join(f"{value:g}" for value in medians)
            + " |"
        )
    return lines


def totals(
    cached: dict[str, list[list[int]]],
    first: dict[str, list[int]],
    correct: dict[str, int],
    prompts: list[int],
) -> list[str]:
    """Every configuration's cached prompt tokens over all runs, each repeat."""
    lines = [
        f"## Totals over the {RUNS} runs, each repeat",
        "",
        "| configuration | cached prompt tokens per repeat | of them in runs' first generations "
        "| share of prompt tokens (median) | right answers |",
        "|---|---|---|---|---|",
    ]
    for name in cached:
        sums = [sum(repeat) for repeat in cached[name]]
        share = statistics.median(sums) / sum(prompts)
        answers = f"{correct[name]} / {RUNS * QUESTIONS * REPEATS}"
        lines.append(
            f"| {name} | {', '.join(map(str, sums))} | {', '.join(map(str, first[name]))} "
            f"| {share:.1%} | {answers} |"
        )
    return lines


def per_request(requests: dict[str, list[Request]], names: dict[str, str]) -> list[str]:
    """Every request of the first repeat: its cached prompt tokens and its replica (A or B)."""
    keys = sorted({(r.run, r.generation) for log in requests.values() for r in log})
    served = {name: {(r.run, r.generation): r for r in log} for name, log in requests.items()}
    lines = [
        "## Cached prompt tokens per request, first repeat (replica A or B)",
        "",
        "| run | generation | prompt tokens | " + " | ".join(requests) + " |",
        "|---|---|---|" + "---|" * len(requests),
    ]
    for key in keys:
        cells = [served[name].get(key) for name in requests]
        size = next(r.prompt_tokens for r in cells if r is not None)
        lines.append(
            f"| {key[0]} | {key[1]} | {size} | "
            + " | ".join(
                "-" if r is None else f"{r.cached_prompt_tokens} ({names[r.replica]})"
                for r in cells
            )
            + " |"
        )
    return lines


def main() -> None:
    namespace = PythonTool().namespace
    checkpoint = build_checkpoint(python=namespace)
    context = sys.argv[1:] == ["--context"]
    lines = asyncio.run(measure(checkpoint, ProductPython(namespace), context))
    flag = " --context" if context else ""
    out = RESULTS / f"replica_routing{'_context' if context else ''}.md"
    out.write_text(
        "\n".join(
            [
                "# Routing over replicas and the prefix cache",
                "",
                f"Command: `.venv/bin/python -m bench.replica_routing{flag}`",
                f"Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other work; "
                f"two `vllm serve` replicas of the tiny gpt-oss checkpoint on the CPU, bound to "
                f"cores {' and '.join(CORES)}, prefix caching on, blocks of {BLOCK_SIZE} tokens; "
                f"{RUNS} runs at once, {QUESTIONS} questions each (a chat), every cache emptied "
                "before each configuration's repeat; cold: nothing more, warm: then one request "
                "of the shared preamble to each replica the routing uses.",
                "",
                *lines,
                "",
            ]
        )
    )
    print(out.read_text())


if __name__ == "__main__":
    main()
