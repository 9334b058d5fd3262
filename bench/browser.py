"""Browser latency on real HTML pages served on 127.0.0.1: open (fetch + extract + render) and find;
and what converting pages in a worker process costs, against converting them in-process.

The pages are the real-world test pages that ship in trafilatura's source distribution (not
kept in this repository). The script takes them from `.cache/bench/`, downloading the sdist of
the installed trafilatura version with pip when they are not there yet:

    python -m pip download --no-deps --no-binary :all: trafilatura==VERSION -d .cache/bench

Each page is opened in a fresh browser session (so the per-run cache never answers) while one
session stays open to keep the shared HTTP clients and conversion workers, as in a process
serving many runs. The same pages also give the measured UTF-8 bytes per o200k token of
rendered views, which `estimate_tokens` uses.

The worker section converts the same pages alternately in-process (`to_page` and wrapping, what
`open` ran in a thread before conversion moved to killable worker processes) and in a warm
worker, and starts cold workers to measure what a start costs.

Run: .venv/bin/python bench/browser.py  (writes bench/results/browser.md)
"""

from __future__ import annotations

import asyncio
import gzip
import http.server
import importlib.metadata
import json
import platform
import resource
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

from harmony_agent._harmony import encode_text
from harmony_agent.tools.browser import Browser, BrowserConfig, FetchConfig, GuardConfig
from harmony_agent.tools.browser._browser import estimate_tokens
from harmony_agent.tools.browser._content import Download, to_page
from harmony_agent.tools.browser._converter import Converter
from harmony_agent.tools.browser._page import wrap_lines
from harmony_agent.tools.browser._session import BrowserSession

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench"
RESULTS = ROOT / "bench" / "results" / "browser.md"
ROUNDS = 30
FIND_PATTERNS = ("the", "zebra-not-there")
LARGE_PARAGRAPHS = 6000
COLD_STARTS = 10


def trafilatura_pages() -> dict[str, bytes]:
    """The HTML pages of the installed trafilatura's sdist (downloaded once into the cache)."""
    version = importlib.metadata.version("trafilatura")
    sdist = CACHE / f"trafilatura-{version}.tar.gz"
    if not sdist.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"trafilatura=={version}", "-d", str(CACHE)],
            check=True,
        )  # fmt: skip
    pages: dict[str, bytes] = {}
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            name = Path(member.name).name
            if "/tests/resources/" not in member.name or not name.endswith((".html", ".html.gz")):
                continue
            data = archive.extractfile(member)
            assert data is not None
            body = data.read()
            pages[name.removesuffix(".gz")] = (
                gzip.decompress(body) if name.endswith(".gz") else body
            )
    return dict(sorted(pages.items()))


def large_page() -> bytes:
    paragraphs = "".join(
        f"<p>Paragraph {n}: the tide rises and falls twice a day; marker {n}.</p>"
        for n in range(LARGE_PARAGRAPHS)
    )
    page = f"<html><head><title>Large</title></head><body><article>{paragraphs}</article></body>"
    return f"{page}</html>".encode()


class Server:
    """Serves the pages as text/html on 127.0.0.1 from a thread."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, no ACK delay

            def do_GET(self) -> None:
                body = pages[self.path.lstrip("/")]
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(pages: dict[str, bytes], base: str) -> dict[str, object]:
    browser = Browser(BrowserConfig(fetch=FetchConfig(guard=GuardConfig(allow_localhost=True))))
    keeper = await browser.open_session()  # keeps the shared clients open between sessions
    await keeper.call("open", json.dumps({"id": base + next(iter(pages))}))  # starts a worker
    rows: dict[str, dict[str, object]] = {}
    opens: list[float] = []
    finds: list[float] = []
    for name in pages:
        page_opens: list[float] = []
        page_finds: list[float] = []
        session: BrowserSession | None = None
        for _ in range(ROUNDS):
            session = await browser.open_session()
            started = time.perf_counter()
            view = await session.call("open", json.dumps({"id": base + name}))
            page_opens.append(time.perf_counter() - started)
            for pattern in FIND_PATTERNS:
                started = time.perf_counter()
                await session.call("find", json.dumps({"pattern": pattern, "cursor": 0}))
                page_finds.append(time.perf_counter() - started)
            await session.aclose()
        assert session is not None
        page = session.state.page(0)
        lines = "\n".join(f"L{i}: {line}" for i, line in enumerate(page.lines))
        tokens = len(encode_text(lines))
        rows[name] = {
            "html_bytes": len(pages[name]),
            "lines": len(page.lines),
            "links": len(page.links),
            "open_median_ms": statistics.median(page_opens) * 1000,
            "open_p95_ms": quantile(page_opens, 0.95) * 1000,
            "find_median_ms": statistics.median(page_finds) * 1000,
            "bytes": len(lines.encode()),
            "tokens": tokens,
            "estimated_tokens": estimate_tokens(lines),
            "first_view_tokens": len(encode_text(view.text)),
        }
        opens += page_opens
        finds += page_finds
    await keeper.aclose()
    return {"pages": rows, "opens": opens, "finds": finds}


async def conversion_costs(pages: dict[str, bytes]) -> dict[str, object]:
    """Per page, conversion in-process and in a warm worker, alternately (wall time, and the
    CPU this process spends on a worker's conversion); then cold starts.
    """
    max_chars = FetchConfig().max_bytes
    downloads = {
        name: Download(f"http://bench.example/{name}", "text/html", None, body)
        for name, body in pages.items()
    }
    rows: dict[str, dict[str, list[float]]] = {}
    converter = Converter(workers=1, max_chars=max_chars)
    try:
        for name, download in downloads.items():
            await converter.convert(download, view_source=False, timeout=60)  # warm-up
            row: dict[str, list[float]] = {"local": [], "worker": [], "parent_cpu": []}
            for _ in range(ROUNDS):
                started = time.perf_counter()
                wrap_lines(to_page(download, max_chars=max_chars).text)
                row["local"].append(time.perf_counter() - started)
                started, cpu = time.perf_counter(), time.process_time()
                await converter.convert(download, view_source=False, timeout=60)
                row["worker"].append(time.perf_counter() - started)
                row["parent_cpu"].append(time.process_time() - cpu)
            rows[name] = row
    finally:
        await converter.aclose()
    first = next(iter(downloads.values()))
    starts: list[float] = []
    cpu_before = _children_cpu()
    for _ in range(COLD_STARTS):
        cold = Converter(workers=1, max_chars=max_chars)
        started = time.perf_counter()
        try:
            await cold.convert(first, view_source=False, timeout=60)
            starts.append(time.perf_counter() - started)
        finally:
            await cold.aclose()
    cpu = (_children_cpu() - cpu_before) / COLD_STARTS
    return {"pages": rows, "starts": starts, "start_cpu": cpu}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # of the ended, reaped workers
    return usage.ru_utime + usage.ru_stime


def report(real: dict[str, object], large: dict[str, object], conversion: dict[str, object]) -> str:
    pages: dict[str, dict[str, float]] = real["pages"]  # type: ignore[assignment]
    opens: list[float] = real["opens"]  # type: ignore[assignment]
    finds: list[float] = real["finds"]  # type: ignore[assignment]
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("trafilatura", "httpx", "lxml")
    )
    lines = [
        "# Browser: open and find latency",
        "",
        "Command: `.venv/bin/python bench/browser.py`",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, {versions}.",
        f"{len(pages)} real pages from trafilatura's sdist (tests/resources), served on 127.0.0.1; "
        f"{ROUNDS} opens of each, every one in a fresh session (no cache), after one open that "
        "starts a conversion worker. `open` = fetch + extract (in the worker) + render the first "
        "view (1024-token viewport); `find` = one search over the "
        f"opened page, for {' and '.join(repr(p) for p in FIND_PATTERNS)}. The server sends "
        "headers and body without Nagle delay (with Python's http.server defaults, a delayed "
        "ACK adds about 40 ms to every response and hides the browser's own time).",
        "",
        "| | median ms | p95 ms |",
        "|---|---:|---:|",
        f"| open, all real pages ({len(opens)} samples) | {statistics.median(opens) * 1000:.1f} "
        f"| {quantile(opens, 0.95) * 1000:.1f} |",
        f"| find, all real pages ({len(finds)} samples) | {statistics.median(finds) * 1000:.2f} "
        f"| {quantile(finds, 0.95) * 1000:.2f} |",
    ]
    large_row = large["pages"]["large.html"]  # type: ignore[index]
    large_opens: list[float] = large["opens"]  # type: ignore[assignment]
    large_finds: list[float] = large["finds"]  # type: ignore[assignment]
    lines += [
        f"| open, synthetic large page ({large_row['html_bytes'] // 1000} kB, "
        f"{large_row['lines']} lines) | {statistics.median(large_opens) * 1000:.1f} "
        f"| {quantile(large_opens, 0.95) * 1000:.1f} |",
        f"| find, synthetic large page | {statistics.median(large_finds) * 1000:.2f} "
        f"| {quantile(large_finds, 0.95) * 1000:.2f} |",
        "",
        "Per page (bytes/token: UTF-8 bytes per o200k token of the whole page as numbered lines; "
        "estimate: `estimate_tokens` over the same text):",
        "",
        "| page | HTML bytes | lines | links | open median ms | open p95 ms | find median ms "
        "| bytes/token | tokens | estimated |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total_bytes = total_tokens = 0
    for name, row in pages.items():
        total_bytes += int(row["bytes"])
        total_tokens += int(row["tokens"])
        lines.append(
            f"| {name} | {row['html_bytes']:,} | {row['lines']} | {row['links']} "
            f"| {row['open_median_ms']:.1f} | {row['open_p95_ms']:.1f} "
            f"| {row['find_median_ms']:.2f} | {row['bytes'] / row['tokens']:.2f} "
            f"| {row['tokens']:,} | {row['estimated_tokens']:,} |"
        )
    lines += [
        "",
        f"All real pages: {total_bytes:,} bytes, {total_tokens:,} tokens, "
        f"{total_bytes / total_tokens:.3f} bytes/token (`BYTES_PER_TOKEN` = 2.75).",
        "",
        *conversion_report(conversion),
    ]
    return "\n".join(lines)


def conversion_report(conversion: dict[str, object]) -> list[str]:
    rows: dict[str, dict[str, list[float]]] = conversion["pages"]  # type: ignore[assignment]
    starts: list[float] = conversion["starts"]  # type: ignore[assignment]
    start_cpu: float = conversion["start_cpu"]  # type: ignore[assignment]
    real = [name for name in rows if name != "large.html"]
    lines = [
        "## Conversion in a worker process",
        "",
        "`open` converts a page in a worker process, killed when the open's time limit is up "
        "(a thread cannot be stopped). Same pages, same process, alternately: in-process "
        "(`to_page` + wrapping, what `open` ran in a thread before) and in a warm worker "
        f"(request, conversion, JSON reply, validation); {ROUNDS} rounds. On a shared machine "
        "the medians carry other processes' noise; the minimums show the cost itself. Agent "
        "CPU: what this process spends on one conversion in a worker (writing the request, "
        "reading and validating the answer); the conversion's own CPU is the worker's.",
        "",
        "| page | in-process median / min ms | in a worker median / min ms "
        "| overhead of the minimums ms | agent CPU ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        local, worker = row["local"], row["worker"]
        lines.append(
            f"| {name} | {statistics.median(local) * 1000:.2f} / {min(local) * 1000:.2f} "
            f"| {statistics.median(worker) * 1000:.2f} / {min(worker) * 1000:.2f} "
            f"| {(min(worker) - min(local)) * 1000:.2f} "
            f"| {statistics.median(row['parent_cpu']) * 1000:.2f} |"
        )
    overheads = [min(rows[name]["worker"]) - min(rows[name]["local"]) for name in real]
    lines += [
        "",
        f"Overhead on the real pages (minimums): median {statistics.median(overheads) * 1000:.2f}"
        f" ms, largest {max(overheads) * 1000:.2f} ms per open.",
        "",
        f"Cold start ({COLD_STARTS} times): a new worker and its first conversion "
        f"({real[0]}) take {statistics.median(starts) * 1000:.0f} ms median "
        f"(max {max(starts) * 1000:.0f} ms) and {start_cpu * 1000:.0f} ms of the worker's CPU. "
        "A start is paid once while runs keep the browser busy (workers live until the last "
        "run closes), overlaps the first fetch, and does not count against `timeout_s`.",
        "",
    ]
    return lines


def main() -> None:
    pages = trafilatura_pages()
    server = Server({**pages, "large.html": large_page()})
    try:
        real = asyncio.run(measure(pages, server.base))
        large = asyncio.run(measure({"large.html": large_page()}, server.base))
    finally:
        server.stop()
    conversion = asyncio.run(conversion_costs({**pages, "large.html": large_page()}))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report(real, large, conversion))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
