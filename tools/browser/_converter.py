"""Page conversion in worker processes that are killed when the time of an `open` is up.

Converting an untrusted document can take minutes (libxml2 is quadratic in the attributes of
one tag; trafilatura parses a page twice), and a thread cannot be stopped: it would burn CPU
after the tool gave up and hold a slot of the default thread pool that every
`asyncio.to_thread` shares. So conversion runs in a small pool of worker processes
(`_converter_main`), started on first use, reused while they answer in time, killed the moment
their caller stops waiting (time limit or cancellation), and killed with the pool. A worker's
answer is JSON of a bounded size: a worker that read a hostile page is not trusted with
pickle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys

from harmony_agent.sandbox._errors import HarmonyAgentError
from harmony_agent.tools.browser._content import Download
from harmony_agent.tools.browser._converter_main import FRAME_HEADER, READY
from harmony_agent.tools.browser._errors import OpenError
from harmony_agent.tools.browser._page import Page, with_lines
from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["Converter"]

_MODULE = "harmony_agent.tools.browser._converter_main"
# Runs the worker without the package `__init__`s above its module, which import the whole
# agent: half the CPU of a worker's start (0.45 s instead of 0.9 on a laptop core).
_BOOTSTRAP = f"""
import importlib.util, sys, types
for name in ("harmony_agent", "harmony_agent.tools", "harmony_agent.tools.browser"):
    spec = importlib.util.find_spec(name)
    package = sys.modules[name] = types.ModuleType(name)
    package.__path__, package.__spec__ = spec.submodule_search_locations, spec
from {_MODULE} import main
main()
"""
_START_TIMEOUT_S = 60.0
"""How long a worker may take to start (it imports the parsers: about a second)."""
_REPLY_BYTES_PER_CHAR = 16
"""Bounds a reply by the page's character limit: the text and its wrapped lines as JSON (a
character takes up to 6 bytes escaped; a tab expands to 8 spaces in the lines)."""


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: Page | None = None
    lines: list[str] = []
    error: str | None = None


class Converter:
    """Converts downloads to pages in up to `workers` processes at once.

    Page text is bounded by `max_chars` characters. Workers start when first needed (see
    `prepare`) and stay until `aclose`.
    """

    def __init__(self, *, workers: int, max_chars: int) -> None:
        self._max_workers = workers
        self._max_chars = max_chars
        self._slots = asyncio.Semaphore(workers)
        self._workers: set[_Worker] = set()
        self._idle: list[_Worker] = []
        self._starting: asyncio.Task[None] | None = None
        self._waiters: set[asyncio.Future[None]] = set()
        self._closed = False

    def prepare(self) -> None:
        """Starts a worker in the background if none is idle, so that a conversion about to
        come does not wait for one (a worker takes about a second to import its parsers).
        """
        if not self._idle and not self._closed and len(self._workers) < self._max_workers:
            self._start_task()

    async def convert(
        self,
        download: Download,
        *,
        view_source: bool,
        timeout: float,  # noqa: ASYNC109 - it starts once a worker is free, not at the call
    ) -> Page:
        """The page of `download`; `OpenError` when it cannot be read, `TimeoutError` when
        reading it takes longer than `timeout` seconds (the worker is killed first).

        Waiting for a free worker, or for the first one to start, does not count against
        `timeout`: it is the browser's capacity, not the page. Cancelling the call kills the
        worker too.
        """
        request = {
            "url": download.url,
            "media_type": download.media_type,
            "charset": download.charset,
            "view_source": view_source,
            "max_chars": self._max_chars,
        }
        max_reply = _REPLY_BYTES_PER_CHAR * self._max_chars + 2**20
        async with self._slots:
            worker = await self._take()
            try:
                async with asyncio.timeout(timeout):
                    data = await worker.convert(
                        download.url, json.dumps(request).encode(), download.body, max_reply
                    )
                reply = _Reply.model_validate_json(data)
            except ValidationError:
                await self._discard(worker)
                raise OpenError(download.url, "the converter's answer was malformed.") from None
            except BaseException:
                await self._discard(worker)
                raise
            self._idle.append(worker)
            self._wake_waiters()
        if reply.page is None:
            raise OpenError(download.url, reply.error or "it could not be read.")
        return with_lines(reply.page, reply.lines)

    async def aclose(self) -> None:
        """Kills every worker, idle, busy or starting."""
        self._closed = True
        self._wake_waiters()
        if self._starting is not None:
            self._starting.cancel()
            await asyncio.wait([self._starting])
        for worker in list(self._workers):
            await self._discard(worker)

    async def _take(self) -> _Worker:
        """An idle worker: one given back by another caller or a new one, whichever is first
        (a start takes a second or more on a loaded machine; a conversion, milliseconds).
        """
        while not self._idle:
            if self._closed:
                raise RuntimeError("the browser's page converter is closed")
            starting = self._starting
            if starting is None and len(self._workers) < self._max_workers:
                starting = self._start_task()
            # The start is a task of its own: cut short by this caller's time limit, it goes
            # on for the next caller.
            woken = asyncio.get_running_loop().create_future()
            self._waiters.add(woken)
            try:
                await woken
            finally:
                self._waiters.discard(woken)
            if not self._idle and starting is not None and starting.done():
                error = None if starting.cancelled() else starting.exception()
                if error is not None:
                    raise error
        return self._idle.pop()

    def _wake_waiters(self) -> None:
        """Wakes the callers waiting in `_take`: a worker is idle, a start ended, or the
        converter closed.
        """
        for woken in self._waiters:
            if not woken.done():
                woken.set_result(None)

    def _start_task(self) -> asyncio.Task[None]:
        if self._starting is None:
            self._starting = asyncio.create_task(self._start())
            self._starting.add_done_callback(_retrieve)
        return self._starting

    async def _start(self) -> None:
        try:
            worker = await _Worker.start()
            self._workers.add(worker)
            self._idle.append(worker)
        finally:
            self._starting = None
            self._wake_waiters()  # on a failed start too: a waiter starts another

    async def _discard(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        await worker.kill()
        self.prepare()  # a replacement, ready for the next page


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        if process.stdin is None or process.stdout is None:
            raise RuntimeError("the converter process was started without pipes")
        self._process = process
        self._requests = process.stdin
        self._replies = process.stdout

    @classmethod
    async def start(cls) -> _Worker:
        """Starts a worker and waits until it is ready."""
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-P",
                "-c",
                _BOOTSTRAP,
                str(os.getpid()),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,  # no terminal signals: the parent decides when it ends
            )
        except OSError as error:
            raise HarmonyAgentError(
                f"The browser's page converter could not start `{sys.executable}`: {error}"
            ) from None
        worker = cls(process)
        try:
            async with asyncio.timeout(_START_TIMEOUT_S):
                await worker._replies.readexactly(len(READY))
        except asyncio.IncompleteReadError:
            code = await process.wait()
            raise HarmonyAgentError(
                f"The browser's page converter exited with code {code} while starting; "
                f"`{sys.executable} -m {_MODULE} {os.getpid()}` shows why."
            ) from None
        except TimeoutError:
            await worker.kill()
            raise HarmonyAgentError(
                f"The browser's page converter did not start within {_START_TIMEOUT_S:g} s."
            ) from None
        except BaseException:
            await worker.kill()
            raise
        return worker

    async def convert(self, url: str, request: bytes, body: bytes, max_reply: int) -> bytes:
        """Sends a request, returns the reply; `OpenError` if the worker died or overran."""
        try:
            for frame in (request, body):
                self._requests.write(FRAME_HEADER.pack(len(frame)) + frame)
            await self._requests.drain()
            header = await self._replies.readexactly(FRAME_HEADER.size)
            (length,) = FRAME_HEADER.unpack(header)
            if length > max_reply:
                raise OpenError(url, "its text is too long to show.")
            return await self._replies.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            code = await self._process.wait()
            reason = f"it could not be read (the converter process ended with code {code})."
            raise OpenError(url, reason) from None

    async def kill(self) -> None:
        """Kills the process and waits for its end."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        await self._process.wait()


def _retrieve(task: asyncio.Task[None]) -> None:
    """Marks a failed background start as seen; whoever waits on it gets the error."""
    if not task.cancelled():
        task.exception()
