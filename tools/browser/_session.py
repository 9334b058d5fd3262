"""One run's browser: `search`, `open` and `find` over pages kept by cursor."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from harmony_agent.tools._base import Citation, ToolError, ToolOutput, ToolSession
from harmony_agent.tools.browser._arguments import (
    FindArguments,
    OpenArguments,
    SearchArguments,
    parse_arguments,
)
from harmony_agent.tools.browser._citations import resolve_citations
from harmony_agent.tools.browser._clients import ClientPool, Clients
from harmony_agent.tools.browser._config import BrowserConfig
from harmony_agent.tools.browser._fetch import Fetcher
from harmony_agent.tools.browser._find import MATCH_LINES, find_in_page
from harmony_agent.tools.browser._page import Page, PageKind
from harmony_agent.tools.browser._search._backend import SearchBackend
from harmony_agent.tools.browser._search._results import results_page
from harmony_agent.tools.browser._state import BrowserState
from harmony_agent.tools.browser._view import TokenCounter, render_view
from pydantic import BaseModel

__all__ = ["BrowserSession"]

_VIEW_SOURCE = "view-source:"
Handler = Callable[[Any], Awaitable[ToolOutput]]


class BrowserSession(ToolSession):
    """The browser state of one run. Pages opened in the run are cached by URL."""

    def __init__(
        self,
        *,
        config: BrowserConfig,
        backend: SearchBackend | None,
        pool: ClientPool,
        count_tokens: TokenCounter,
    ) -> None:
        self.state = BrowserState()
        self._config = config
        self._backend = backend
        self._pool = pool
        self._clients: Clients | None = pool.acquire()
        self._fetcher = Fetcher(self._clients, config.fetch)
        self._count_tokens = count_tokens
        self._cache: dict[str, Page] = {}
        self._functions: dict[str, tuple[type[BaseModel], Handler]] = {
            "search": (SearchArguments, self._search),
            "open": (OpenArguments, self._open),
            "find": (FindArguments, self._find),
        }

    async def call(self, function: str | None, arguments: str) -> ToolOutput:
        """Runs `browser.search`, `browser.open` or `browser.find`."""
        entry = self._functions.get(function or "")
        if entry is None:
            raise ToolError(
                f"`browser.{function}` does not exist: the browser has search, open and find."
            )
        model, handler = entry
        return await handler(parse_arguments(model, arguments, f"browser.{function}"))

    def cite(self, text: str) -> list[Citation]:
        """The citations in `text` (the final answer) resolved against this run's pages."""
        return resolve_citations(text, self.state)

    def snapshot(self) -> dict[str, Any]:
        """The session's pages and cursors as JSON-able data, for the run's trace."""
        return self.state.snapshot()

    async def fetch_page(self, url: str) -> Page:
        """The page at `url`: from this run's cache, the search backend, or the network."""
        return await self._page_at(url, view_source=False)

    async def aclose(self) -> None:
        """Gives the shared clients and page converter back (the last run to close them closes
        them, killing the converter's worker processes).
        """
        clients, self._clients = self._clients, None
        if clients is not None:
            await self._pool.release(clients)

    async def _search(self, arguments: SearchArguments) -> ToolOutput:
        if self._backend is None:
            raise ToolError(
                "Search is not available in this browser. Open a page by its URL instead: "
                'browser.open with {"id": "https://..."}.'
            )
        if self._clients is None:
            raise RuntimeError("the browser session is closed")
        topn = min(arguments.topn, self._config.max_search_results)
        results = await self._backend.search(arguments.query, topn, self._clients.api)
        if not results:
            raise ToolError(f"No results for `{arguments.query}`. Try other or fewer words.")
        return self._show(results_page(arguments.query, results), loc=0, num_lines=-1)

    async def _open(self, arguments: OpenArguments) -> ToolOutput:
        loc = arguments.loc
        if isinstance(arguments.id, str):
            page = await self._page_at(arguments.id, view_source=arguments.view_source)
            return self._show(page, loc, arguments.num_lines)
        current = self.state.page(arguments.cursor)
        if arguments.id >= 0:
            url = current.links.get(arguments.id)
            if url is None:
                raise ToolError(
                    f"Invalid link id `{arguments.id}`. Links are shown as 【id†text】 in the "
                    "page; use one of those ids with the page's cursor."
                )
            line = current.link_lines.get(arguments.id)
            if loc < 0 and line is not None:
                loc = line - MATCH_LINES if line > MATCH_LINES else line
            page = await self._page_at(url, view_source=arguments.view_source)
        elif arguments.view_source:
            if current.document_url is None:
                raise ToolError("A search results page has no source; open a result instead.")
            page = await self._page_at(current.document_url, view_source=True)
        else:
            page = current  # scroll
        return self._show(page, loc, arguments.num_lines)

    async def _find(self, arguments: FindArguments) -> ToolOutput:
        page = self.state.page(arguments.cursor)
        if page.kind in (PageKind.SEARCH, PageKind.FIND):
            raise ToolError(
                "Cannot run `find` on search results page or find results page. "
                "Open a result first, then find in it."
            )
        found = await asyncio.to_thread(find_in_page, page, arguments.pattern)
        return self._show(found, loc=0, num_lines=-1)

    async def _page_at(self, url: str, *, view_source: bool) -> Page:
        if url.startswith(_VIEW_SOURCE):
            url, view_source = url.removeprefix(_VIEW_SOURCE), True
        url = url.strip()
        if "://" not in url and not url.startswith(("file:", "data:")):
            url = f"https://{url}"  # a bare domain, as models sometimes write it
        key = f"{_VIEW_SOURCE}{url}" if view_source else url
        page = self._cache.get(key)
        if page is None and not view_source and self._backend is not None:
            page = await self._backend.page(url)
        if page is None:
            page = await self._fetcher.open(url, view_source=view_source)
            self._cache[page.url] = page  # the URL redirects ended at
        self._cache[key] = page
        return page

    def _show(self, page: Page, loc: int, num_lines: int) -> ToolOutput:
        cursor = self.state.push(page)
        try:
            view = render_view(
                page,
                cursor,
                loc=loc,
                num_lines=num_lines,
                view_tokens=self._config.view_tokens,
                max_view_tokens=self._config.max_view_tokens,
                count_tokens=self._count_tokens,
            )
        except ToolError:
            self.state.pop()
            raise
        data = {
            "cursor": cursor,
            "url": page.url,
            "title": page.title,
            "lines": [view.start, view.end - 1],
        }
        return ToolOutput(text=view.text, data=data)
