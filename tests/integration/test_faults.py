"""Faults under load: 64 concurrent runs on one engine while tools fail, hang and time out,
sandboxed Python kernels run code and die, a real local web site answers 500s and slow pages,
the engine fails mid-stream and runs are cancelled. Every run must end with a result or a
typed error, nothing may leak (tasks, threads, processes, file descriptors), and memory must
stay bounded over repeated rounds.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import re
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from enum import Enum

import pytest
from harmony_agent import (
    Agent,
    EngineError,
    RunFinished,
    RunResult,
    StopReason,
    ToolCallStarted,
    ToolError,
    ToolErrorKind,
    tool,
)
from harmony_agent._harmony import decode
from harmony_agent.engines import SamplingParams, ScriptedEngine, TokenChunk
from harmony_agent.sandbox import SandboxConfig
from harmony_agent.tools.browser import (
    Browser,
    BrowserConfig,
    FetchConfig,
    GuardConfig,
    SearxngConfig,
)
from harmony_agent.tools.python import PythonTool

from .browser.site import Reply, RunningSite

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="counts processes and descriptors in /proc"
)

RUNS = 64
ROUNDS = 4
TOKEN_DELAY_S = 0.003  # about 330 tokens/s per stream, a fast single-stream decode
TOOL_TIMEOUT_S = 5.0
FETCH_TIMEOUT_S = 4.0  # generous: python kernels starting at once load both cores
SLOW_S = 6.0  # past both: the slow page and the blocking computation time out
_RUN_KEY = re.compile(r"\[run (\d+)\]")
KERNEL = SandboxConfig(cell_timeout_s=5.0, interrupt_grace_s=1.0, memory_mb=512, max_processes=64)


class Fault(Enum):
    """What goes wrong in one run."""

    NONE = "none"
    PYTHON = "python"
    KERNEL_DIES = "kernel_dies"
    RAISES = "raises"
    TOOL_ERROR = "tool_error"
    HANGS = "hangs"
    BLOCKS_A_THREAD = "blocks_a_thread"
    INVALID_ARGUMENTS = "invalid_arguments"
    HTTP_500 = "http_500"
    SLOW_PAGE = "slow_page"
    SEARCH_DOWN = "search_down"
    ENGINE_FAILS = "engine_fails"
    TASK_CANCELLED = "task_cancelled"
    STREAM_CANCELLED = "stream_cancelled"
    RUN_TIMEOUT = "run_timeout"


EXPECTED_TOOL_ERRORS = {
    Fault.RAISES: {ToolErrorKind.EXCEPTION},
    Fault.TOOL_ERROR: {ToolErrorKind.TOOL_ERROR},
    Fault.HANGS: {ToolErrorKind.TIMEOUT},
    Fault.BLOCKS_A_THREAD: {ToolErrorKind.TIMEOUT},
    Fault.INVALID_ARGUMENTS: {ToolErrorKind.INVALID_ARGUMENTS},
    Fault.HTTP_500: {ToolErrorKind.TOOL_ERROR},
    Fault.SLOW_PAGE: {ToolErrorKind.TOOL_ERROR, ToolErrorKind.TIMEOUT},
    Fault.SEARCH_DOWN: {ToolErrorKind.TOOL_ERROR, ToolErrorKind.EXCEPTION},
}


@tool
async def lookup(mode: str, n: int) -> str:
    """Looks something up; `mode` says how it goes wrong (test double for a flaky service).

    Args:
        mode: ok, raises, tool_error or hangs.
        n: A number.
    """
    await asyncio.sleep(0.01)
    if mode == "raises":
        raise RuntimeError("the lookup service crashed")
    if mode == "tool_error":
        raise ToolError("no entry for that number; try another")
    if mode == "hangs":
        await asyncio.sleep(60)
    return f"entry {n}"


@tool
def compute(seconds: float) -> str:
    """A blocking computation that takes `seconds` (runs in a worker thread).

    Args:
        seconds: How long it takes.
    """
    time.sleep(seconds)
    return "computed"


@dataclass(frozen=True)
class Plan:
    """One run: its key, its fault, and the completions the model writes."""

    index: int
    fault: Fault
    script: tuple[str, ...]

    @property
    def prompt(self) -> str:
        return f"[run {self.index}] Look it up and read the page."


def call(recipient: str, body: str, channel: str = "commentary") -> str:
    kind = "<|constrain|>json" if recipient.startswith("functions.") else "code"
    return f"<|channel|>{channel} to={recipient} {kind}<|message|>{body}<|call|>"


def plan_run(index: int, fault: Fault, rng: random.Random, site: RunningSite) -> Plan:
    thinking = "<|channel|>analysis<|message|>" + " ".join(
        rng.choice(["Let", "me", "check", "the", "entry", "first", "then", "read"])
        for _ in range(rng.randint(10, 40))
    )
    lookup_mode = {
        Fault.RAISES: "raises",
        Fault.TOOL_ERROR: "tool_error",
        Fault.HANGS: "hangs",
    }.get(fault, "ok")
    first = call("functions.lookup", f'{{"mode": "{lookup_mode}", "n": {index}}}')
    if fault is Fault.BLOCKS_A_THREAD:
        first = call("functions.compute", f'{{"seconds": {SLOW_S}}}')
    if fault is Fault.INVALID_ARGUMENTS:
        first = call("functions.lookup", '{"mode": "ok", "n": "seven"}')
    if fault is Fault.PYTHON:
        first = call("python", f"print({index} * 7)", channel="analysis")
    if fault is Fault.KERNEL_DIES:
        first = call(
            "python", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "analysis"
        )
    page = {Fault.HTTP_500: "/error500", Fault.SLOW_PAGE: "/slower"}.get(fault, "/small.html")
    second = call("browser.open", f'{{"id": "{site.site.url(page)}"}}', channel="analysis")
    if fault is Fault.SEARCH_DOWN:
        second = call("browser.search", '{"query": "tides"}', channel="analysis")
    final = "<|channel|>final<|message|>" + "Here is what I found. " * rng.randint(2, 8)
    return Plan(
        index,
        fault,
        (f"{thinking}<|end|><|start|>assistant{first}", second, f"{final}<|return|>"),
    )


class FaultyEngine:
    """Wraps the shared engine; the generations named in `failures` (run index -> generation
    number) raise `EngineError` after a few tokens, like a server dropping the connection.
    """

    def __init__(self, inner: ScriptedEngine, failures: dict[int, int]) -> None:
        self._inner = inner
        self._failures = failures
        self._generations: Counter[int] = Counter()

    @property
    def max_model_len(self) -> int | None:
        return self._inner.max_model_len

    async def generate(
        self,
        prompt_tokens: Sequence[int],
        *,
        stop_token_ids: Sequence[int],
        max_tokens: int,
        sampling: SamplingParams,
    ) -> AsyncGenerator[TokenChunk, None]:
        keys = _RUN_KEY.findall(decode(prompt_tokens[-400:]))
        run = int(keys[-1]) if keys else -1
        self._generations[run] += 1
        fail = self._failures.get(run) == self._generations[run]
        stream = self._inner.generate(
            prompt_tokens, stop_token_ids=stop_token_ids, max_tokens=max_tokens, sampling=sampling
        )
        async with aclosing(stream):
            count = 0
            async for chunk in stream:
                count += 1
                if fail and count > 3:
                    raise EngineError("connection reset by the engine (injected)")
                yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def build_plans(rng: random.Random, site: RunningSite) -> list[Plan]:
    faults = [list(Fault)[i % len(Fault)] for i in range(RUNS)]
    rng.shuffle(faults)
    return [plan_run(i, fault, rng, site) for i, fault in enumerate(faults)]


async def drive(agent: Agent, plan: Plan, rng: random.Random) -> RunResult:
    """Runs one plan the way its fault asks."""
    if plan.fault is Fault.RUN_TIMEOUT:
        return await replace(agent, timeout=0.15).arun(plan.prompt)
    if plan.fault is Fault.STREAM_CANCELLED:
        async with agent.stream(plan.prompt) as stream:
            async for event in stream:
                if isinstance(event, ToolCallStarted):
                    stream.cancel()
                if isinstance(event, RunFinished):
                    return event.result
        raise AssertionError("the stream ended without RunFinished")
    if plan.fault is Fault.TASK_CANCELLED:
        task = asyncio.create_task(agent.arun(plan.prompt))
        asyncio.get_running_loop().call_later(rng.uniform(0.02, 0.4), task.cancel)
        return await task
    return await agent.arun(plan.prompt)


def check(plan: Plan, outcome: RunResult | BaseException) -> str:
    """Checks one run's outcome against its fault; returns a label for the tally."""
    if plan.fault is Fault.ENGINE_FAILS:
        assert isinstance(outcome, EngineError), outcome
        return "engine error"
    if plan.fault is Fault.TASK_CANCELLED and isinstance(outcome, asyncio.CancelledError):
        return "cancelled task"
    assert isinstance(outcome, RunResult), f"{plan.fault}: {outcome!r}"
    if plan.fault is Fault.RUN_TIMEOUT:
        assert outcome.stop_reason is StopReason.TIMEOUT
        return "timeout"
    if plan.fault is Fault.STREAM_CANCELLED:
        assert outcome.stop_reason is StopReason.CANCELLED
        return "cancelled stream"
    assert outcome.stop_reason is StopReason.FINAL, outcome.stop_reason
    errors = {result.error for result in outcome.tool_calls if result.error is not None}
    told = [r.output for r in outcome.tool_calls if r.error is not None]
    assert errors <= EXPECTED_TOOL_ERRORS.get(plan.fault, set()), (plan.fault, told)
    if plan.fault in EXPECTED_TOOL_ERRORS:
        assert errors, plan.fault
        assert all(text.startswith("Error:") for text in told)
    if plan.fault is Fault.PYTHON:
        assert outcome.tool_calls[0].output == str(plan.index * 7)
        return "python answered"
    if plan.fault is Fault.KERNEL_DIES:
        assert outcome.tool_calls[0].output.startswith("[The kernel died"), outcome.tool_calls[0]
        return "kernel died"
    return "answered"


async def one_round(
    seed: int, site: RunningSite, browser: Browser, python: PythonTool
) -> Counter[str]:
    site.site.requests.clear()  # the test site's own request log, not the runtime's memory
    rng = random.Random(seed)
    plans = build_plans(rng, site)
    scripts = {f"[run {p.index}]": p.script for p in plans}
    engine = FaultyEngine(
        ScriptedEngine.routed(scripts, token_delay=TOKEN_DELAY_S),
        {p.index: rng.randint(1, 3) for p in plans if p.fault is Fault.ENGINE_FAILS},
    )
    agent = Agent(
        engine=engine,
        tools=[lookup, compute, browser, python],
        reasoning="low",
        current_date="2026-11-24",
        tool_timeout=TOOL_TIMEOUT_S,
    )
    outcomes = await asyncio.gather(
        *(drive(agent, plan, random.Random(seed + plan.index)) for plan in plans),
        return_exceptions=True,
    )
    return Counter(check(plan, outcome) for plan, outcome in zip(plans, outcomes, strict=True))


def child_processes() -> list[int]:
    """Processes whose parent is this one (Linux /proc)."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                children.append(int(entry))
    return children


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def own_threads() -> list[str]:
    """Live threads other than the event loop's default executor (a bounded, reused pool)."""
    return [t.name for t in threading.enumerate() if not t.name.startswith("asyncio_")]


async def settle(threads: int) -> list[str]:
    """Waits for the threads of timed-out blocking calls and slow requests to finish."""
    deadline = time.monotonic() + 10
    for _ in range(200):  # polls: threads finishing elsewhere cannot signal an asyncio.Event
        if len(own_threads()) <= threads or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    return own_threads()


@pytest.fixture(scope="module")
def site() -> Iterator[RunningSite]:
    running = RunningSite()
    running.site.routes["/error500"] = lambda *_: Reply(status=500, body=b"<h1>oops</h1>")
    running.site.routes["/slower"] = lambda *_: Reply(body=b"<p>late</p>", delay_s=SLOW_S)
    yield running
    running.stop()


@pytest.mark.unconsumed_script(
    reason="engine failures, cancellations and timeouts end runs before their scripts do"
)
async def test_concurrent_runs_survive_faults_without_leaks(site: RunningSite) -> None:
    browser = Browser(
        BrowserConfig(
            search=SearxngConfig(url=site.site.url("/broken-search")),
            fetch=FetchConfig(
                timeout_s=FETCH_TIMEOUT_S,
                max_concurrent_fetches=RUNS,
                guard=GuardConfig(allow_localhost=True),
            ),
        )
    )
    python = PythonTool(KERNEL)
    children_before = set(child_processes())
    # an earlier test's garbage collected here may start a task (the openai SDK's client
    # schedules its own close when collected): collected first, and such a task, alive at the
    # start, may end meanwhile; no task the runs start may outlive them
    gc.collect()
    tasks_before = asyncio.all_tasks()
    threads_before = len(own_threads())
    tracemalloc.start()
    try:
        # The browser's page workers live across rounds, as in a long-lived agent process (a
        # cold worker start on a loaded machine is not what this test is about).
        async with browser:
            # warm-up: pools, caches, executor threads, the page workers
            tally = await one_round(0, site, browser, python)
            await settle(threads_before)
            gc.collect()
            fds_warm, rss_warm = open_fds(), rss_bytes()
            traced_warm = tracemalloc.get_traced_memory()[0]
            traced = []
            for seed in range(1, ROUNDS):
                tally += await one_round(seed * 1000, site, browser, python)
                await settle(threads_before)
                gc.collect()
                traced.append(tracemalloc.get_traced_memory()[0])
            rss_end = rss_bytes()
    finally:
        tracemalloc.stop()

    assert sum(tally.values()) == RUNS * ROUNDS
    assert set(tally) >= {
        "answered",
        "python answered",
        "kernel died",
        "engine error",
        "timeout",
        "cancelled stream",
    }
    assert asyncio.all_tasks() <= tasks_before, asyncio.all_tasks() - tasks_before
    assert len(await settle(threads_before)) == threads_before, own_threads()
    assert set(child_processes()) <= children_before
    assert open_fds() <= fds_warm + 4
    growth = traced[-1] - traced_warm
    print(
        f"\n{RUNS} runs x {ROUNDS} rounds: {dict(tally)}; traced memory after warm-up "
        f"{traced_warm / 1e6:.1f} MB, after each later round "
        f"{[round(t / 1e6, 2) for t in traced]} MB; RSS {rss_warm / 1e6:.0f} -> "
        f"{rss_end / 1e6:.0f} MB; fds {fds_warm} -> {open_fds()}"
    )
    # Generous bounds: a leak of even 16 KiB per run would exceed the first.
    assert growth < 3_000_000, f"traced memory grew by {growth} bytes over {ROUNDS - 1} rounds"
    assert rss_end - rss_warm < 64_000_000
