"""Pages that are slow to convert: the time limit of `open` covers the conversion, which runs
in a worker process that is killed when the time is up, and no worker outlives the runs or
the agent. Worker processes are found in /proc: children of this process running the
converter module.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from harmony_agent import HarmonyAgentError
from harmony_agent.tools.browser import Browser, BrowserConfig, _converter
from harmony_agent.tools.browser._content import Download
from harmony_agent.tools.browser._converter import Converter
from harmony_agent.tools.browser._errors import OpenError

from tests.fakes import one_page_pdf

from .calls import LOOPBACK, call
from .site import Reply, Site
from .test_fetching import open_with

CONVERTER = b"harmony_agent.tools.browser._converter_main"
ONE_SECOND = LOOPBACK.model_copy(update={"timeout_s": 1.0})


def converter_processes(parent: int | None = None) -> list[int]:
    """The running (not zombie) converter processes whose parent is `parent` (default: us)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state not in "ZX" and CONVERTER in cmdline:
            found.append(int(entry.name))
    return found


def state(pid: int) -> str:
    """The process's state letter (R running, S sleeping, Z zombie, ...); X once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "X"
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    return state(pid) not in "ZX"


async def until(condition: Callable[[], bool]) -> None:
    """Polls `condition` (about a process, which has no event to wait on) until it holds."""
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.02)


def slow_page(attributes: int = 70_000) -> bytes:
    """One tag with many attributes: libxml2 checks each against all before it (half a minute
    in-process for this many, on a laptop; trafilatura parses the page twice).
    """
    names = " ".join(f"a{n}=x" for n in range(attributes))
    return f"<html><body><div {names}>text</div></body></html>".encode()


def serve(site: Site, path: str, reply: Reply) -> str:
    site.routes[path] = lambda *_: reply
    return site.url(path)


async def test_a_page_slow_to_convert_is_stopped_at_the_time_limit(site: Site) -> None:
    url = serve(site, "/slow-to-convert/attributes", Reply(body=slow_page()))
    async with asyncio.timeout(20):  # in-process, the conversion ran on for minutes
        with pytest.raises(OpenError, match=r"too large or complex to read within 1 s"):
            await open_with(ONE_SECOND, url)
    assert converter_processes() == []


async def test_a_9_mb_line_opens(site: Site) -> None:
    url = serve(site, "/long-line", Reply(body=b"x" * 9_000_000, content_type="text/plain"))
    async with asyncio.timeout(60):  # textwrap took minutes
        view = await open_with(LOOPBACK, url)
    assert f"L2: {'x' * 80}\nL3: {'x' * 80}" in view


def compressed_pdf(text_lines: int) -> bytes:
    """A PDF whose one page's compressed contents draw `text_lines` lines of text."""
    line = b"(" + b"tide " * 15 + b") Tj 0 -1 Td "
    return one_page_pdf(b"BT /F1 1 Tf " + line * text_lines + b"ET", compressed=True)


async def test_the_text_of_a_page_is_bounded(site: Site) -> None:
    # A PDF's contents are compressed: 1 kB of PDF holds 150 kB of text.
    pdf = compressed_pdf(text_lines=2_000)
    assert len(pdf) < 2_000
    url = serve(site, "/compressed.pdf", Reply(body=pdf, content_type="application/pdf"))
    config = LOOPBACK.model_copy(update={"max_bytes": 100_000})
    with pytest.raises(OpenError, match="its text is longer than 100000 characters"):
        await open_with(config, url)


async def test_the_default_thread_pool_stays_free(site: Site) -> None:
    # With one thread in the default pool, a conversion held in it starved every later
    # asyncio.to_thread, the resolver's included.
    loop = asyncio.get_running_loop()
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(executor)
    url = serve(site, "/slow-to-convert/pool", Reply(body=slow_page()))
    try:
        async with asyncio.timeout(20):
            with pytest.raises(OpenError, match="within 1 s"):
                await open_with(ONE_SECOND, url)
            assert await asyncio.to_thread(lambda: "free") == "free"
            assert "Small page" in await open_with(LOOPBACK, site.url("/small.html"))
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


async def test_a_cancelled_open_kills_its_worker(site: Site) -> None:
    path = "/slow-to-convert/cancelled"
    url = serve(site, path, Reply(body=slow_page()))
    session = await Browser(BrowserConfig(fetch=LOOPBACK)).open_session()
    try:
        await call(session, "open", id=site.url("/small.html"))
        [worker] = converter_processes()
        task = asyncio.create_task(call(session, "open", id=url))
        async with asyncio.timeout(30):
            await until(lambda: site.hits[path] == 1)
            await until(lambda: state(worker) == "R")  # converting the slow page
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not alive(worker)
    finally:
        await session.aclose()


async def test_workers_are_reused_and_end_with_the_last_run(site: Site) -> None:
    browser = Browser(BrowserConfig(fetch=LOOPBACK))
    assert converter_processes() == []
    first = await browser.open_session()
    assert converter_processes() == []  # started lazily, by the first open
    second = await browser.open_session()
    await call(first, "open", id=site.url("/small.html"))
    workers = converter_processes()
    assert len(workers) == 1
    await call(second, "open", id=site.url("/article.html"))
    await call(first, "open", id=site.url("/notes.txt"))
    assert converter_processes() == workers
    await first.aclose()
    assert converter_processes() == workers  # the second run still holds them
    await second.aclose()
    assert converter_processes() == []
    assert not alive(workers[0])


def download(text: str) -> Download:
    return Download(
        url="https://example.com/", media_type="text/plain", charset="utf-8", body=text.encode()
    )


async def test_a_conversion_takes_a_worker_given_back_before_a_new_one_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two conversions wait for the first worker; the one that gets it second must not also
    # wait for a second worker to start (seconds on a loaded machine) once the first is free.
    start = _converter._Worker.start
    release = asyncio.Event()
    starts = 0

    async def second_start_waits(cls: type[_converter._Worker]) -> _converter._Worker:
        nonlocal starts
        starts += 1
        if starts > 1:
            await release.wait()
        return await start()

    monkeypatch.setattr(_converter._Worker, "start", classmethod(second_start_waits))
    converter = Converter(workers=2, max_chars=10_000)
    try:
        async with asyncio.timeout(60):  # it waited for `release`, which comes after
            pages = await asyncio.gather(
                *(
                    converter.convert(download(f"text {i}"), view_source=False, timeout=30)
                    for i in range(3)
                )
            )
        assert [page.text.splitlines()[-1] for page in pages] == ["text 0", "text 1", "text 2"]
        assert len(converter_processes()) == 1
    finally:
        release.set()
        await converter.aclose()
    assert converter_processes() == []


async def test_a_worker_that_cannot_start_fails_every_waiting_conversion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the worker runs it
    converter = Converter(workers=2, max_chars=10_000)
    try:
        async with asyncio.timeout(60):
            outcomes = await asyncio.gather(
                *(
                    converter.convert(download("text"), view_source=False, timeout=30)
                    for _ in range(3)
                ),
                return_exceptions=True,
            )
    finally:
        await converter.aclose()
    for outcome in outcomes:
        assert isinstance(outcome, HarmonyAgentError)
        assert "exited with code 1 while starting" in str(outcome)


AGENT = """
import asyncio, json, os, signal, sys
from harmony_agent.tools.browser import Browser, BrowserConfig, FetchConfig, GuardConfig

async def main():
    config = BrowserConfig(fetch=FetchConfig(guard=GuardConfig(allow_localhost=True)))
    session = await Browser(config).open_session()
    await session.call("open", json.dumps({"id": sys.argv[1]}))
    print(os.getpid(), flush=True)
    sys.stdin.readline()  # the test has seen the worker
    if sys.argv[2] == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    # "exits": ends without closing the session

asyncio.run(main())
"""


@pytest.mark.parametrize("end", ["exits", "killed"])
async def test_no_worker_outlives_the_agent(site: Site, end: str) -> None:
    agent = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        AGENT,
        site.url("/small.html"),
        end,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert agent.stdin is not None and agent.stdout is not None
    pid = int(await agent.stdout.readline())
    workers = converter_processes(parent=pid)
    assert len(workers) == 1
    agent.stdin.write(b"end\n")
    code = await agent.wait()
    assert code == (-signal.SIGKILL if end == "killed" else 0)
    async with asyncio.timeout(10):
        await until(lambda: not alive(workers[0]))
