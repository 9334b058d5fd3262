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

Each routing runs `REPEATS` times; before each, both servers' prefix caches are emptied
(`POST /reset_prefix_cache`, which vLLM serves with `VLLM_SERVER_DEV_MODE=1`), so every
repeat starts cold. A run's cached prompt tokens are `RunResult.usage.cached_prompt_tokens`,
the sum of the servers' `cached_tokens` over its generations. The machine's load only changes
how long this takes, not the counts. Why chats, and why `--context`: with this checkpoint
(sliding-window and full attention layers) on vLLM's CPU backend, hits came in whole prompt
blocks a request had prefilled, never in blocks its generation filled (a task's second
generation, 318 tokens after a 280-token prompt and 24 generated, found 256 cached on the
same replica), and a tiny task adds too little to the shared preamble for a block of its own:
as trained, no run has anything of its own to find, whatever the routing. A note of its own
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
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
from harmony_agent import RunResult
from harmony_agent.engines import HTTPEngine, HTTPSettings
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


async def reset_prefix_caches(servers: Sequence[VLLMServer]) -> None:
    """Empties every server's prefix cache (nothing may be running)."""
    async with httpx.AsyncClient(timeout=60) as client:
        for server in servers:
            url = server.base_url.removesuffix("/v1") + "/reset_prefix_cache"
            response = await client.post(url)
            response.raise_for_status()
            if response.json().get("success") is False:
                raise RuntimeError(f"{url} did not empty the cache: {response.text}")


async def run_all(
    servers: Sequence[VLLMServer],
    routing: Routing,
    tasks: Sequence[Task],
    python: ProductPython,
    context: bool,
) -> list[list[RunResult]]:
    """The runs at once through one engine over the routing's replicas, caches cold: each
    run's chat asks its tasks in order; the results of each.
    """
    await reset_prefix_caches(servers)
    settings = HTTPSettings(
        base_urls=[server.base_url for server in servers[: routing.replicas]],
        model=servers[0].served_model_name,
        run_affinity=routing.run_affinity,
    )
    async with HTTPEngine(settings) as engine:

        async def chat(run: int) -> list[RunResult]:
            results: list[RunResult] = []
            for task in tasks[run::RUNS]:
                temperature = task.temperature_c if isinstance(task, WeatherTask) else 0
                agent = tiny_agent(engine, python=python, temperature_c=temperature)
                question = task.question
                if context and not results:
                    question = f"{note(run)}\n\n{question}"
                history = results[-1] if results else None
                results.append(await agent.arun(question, history=history))
            return results

        return list(await asyncio.gather(*(chat(run) for run in range(RUNS))))


def note(run: int) -> str:
    """The note of its own before run `run`'s first question, with `--context`."""
    entries = ", ".join(f"entry {run}.{k}" for k in range(CONTEXT_ENTRIES))
    return f"Notes for request {run}: {entries}."


async def measure(checkpoint: TinyCheckpoint, python: ProductPython, context: bool) -> list[str]:
    """The per-run table and the totals of every routing."""
    tasks = list(checkpoint.verified[: RUNS * QUESTIONS])
    cached: dict[str, list[list[int]]] = {routing.name: [] for routing in ROUTINGS}
    prompts: list[int] = []
    turns: list[int] = []
    correct: dict[str, int] = {routing.name: 0 for routing in ROUTINGS}
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
        for repeat in range(REPEATS):
            for routing in ROUTINGS:
                chats = await run_all(servers, routing, tasks, python, context)
                cached[routing.name].append(
                    [sum(r.usage.cached_prompt_tokens for r in chat) for chat in chats]
                )
                prompts = [sum(r.usage.prompt_tokens for r in chat) for chat in chats]
                turns = [sum(r.usage.turns for r in chat) for chat in chats]
                correct[routing.name] += sum(
                    r.final_text == task.expected_answer()
                    for run, chat in enumerate(chats)
                    for r, task in zip(chat, tasks[run::RUNS], strict=True)
                )
                print(f"repeat {repeat + 1}, {routing.name}: {cached[routing.name][-1]}")
    names = [routing.name for routing in ROUTINGS]
    lines = [
        f"## Cached prompt tokens per run (median of {REPEATS} cold repeats)",
        "",
        "| run | questions | generations | prompt tokens | " + " | ".join(names) + " |",
        "|---|---|---|---|" + "---|" * len(names),
    ]
    for index in range(RUNS):
        questions = " / ".join(task.question for task in tasks[index::RUNS])
        medians = [statistics.median(repeat[index] for repeat in cached[n]) for n in names]
        lines.append(
            f"| {index} | {questions} | {turns[index]} | {prompts[index]} | "
            + " | ".join(f"{value:g}" for value in medians)
            + " |"
        )
    lines += [
        "",
        "## Totals over the 8 runs, each repeat",
        "",
        "| routing | cached prompt tokens per repeat | share of prompt tokens (median) "
        "| right answers |",
        "|---|---|---|---|",
    ]
    for name in names:
        totals = [sum(repeat) for repeat in cached[name]]
        share = statistics.median(totals) / sum(prompts)
        answers = f"{correct[name]} / {RUNS * QUESTIONS * REPEATS}"
        lines.append(f"| {name} | {', '.join(map(str, totals))} | {share:.1%} | {answers} |")
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
                "before each routing's repeat.",
                "",
                *lines,
                "",
            ]
        )
    )
    print(out.read_text())


if __name__ == "__main__":
    main()
