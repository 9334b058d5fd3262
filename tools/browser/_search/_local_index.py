"""A local search index: SQLite FTS5 over a folder of documents or a list of URLs.

For offline and air-gapped deployments (and tests): the index is built once, when its file
does not exist yet, from the documents of a folder (HTML, text, Markdown, JSON, PDF) and from
URLs fetched through the browser. Searching and opening indexed documents then needs no
network: the index stores each document's page as well as its searchable text.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import httpx
from harmony_agent.sandbox._errors import ConfigError
from harmony_agent.tools.browser._content import Download, to_page, url_header
from harmony_agent.tools.browser._errors import OpenError
from harmony_agent.tools.browser._links import strip_links
from harmony_agent.tools.browser._page import Page
from harmony_agent.tools.browser._search._backend import PageFetcher, SearchBackend, SearchResult
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LocalIndexBackend", "LocalIndexConfig"]

_SUFFIXES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "application/xhtml+xml",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".rst": "text/plain",
    ".json": "application/json",
    ".pdf": "application/pdf",
}
_WORD = re.compile(r"\w+")
_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS documents USING fts5(
    url UNINDEXED, title, body, page UNINDEXED, tokenize = 'porter unicode61'
)
"""
# bm25 weights per column (url, title, body, page): a title match counts more.
_QUERY = """
SELECT url, title, snippet(documents, 2, '', '', ' … ', 24)
FROM documents WHERE documents MATCH ? ORDER BY bm25(documents, 0, 5.0, 1.0, 0) LIMIT ?
"""


class LocalIndexConfig(BaseModel):
    """Settings of the local index backend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["local"] = "local"
    index: Path = Field(
        description="The SQLite index file. Built when it does not exist; delete it to rebuild."
    )
    folder: Path | None = Field(
        default=None,
        description="Folder whose documents are indexed (searched recursively): "
        + ", ".join(_SUFFIXES),
    )
    urls: tuple[str, ...] = Field(
        default=(), description="URLs fetched through the browser and indexed."
    )

    def build(self) -> LocalIndexBackend:
        """The backend these settings describe."""
        return LocalIndexBackend(self)


class LocalIndexBackend(SearchBackend):
    """Full-text search (BM25) over the documents of one index file."""

    def __init__(self, config: LocalIndexConfig) -> None:
        self._config = config
        self._ready = False
        self._lock = asyncio.Lock()

    async def start(self, fetch_page: PageFetcher) -> None:
        """Builds the index if its file does not exist yet."""
        async with self._lock:
            if self._ready:
                return
            if not self._config.index.exists():
                await self._build(fetch_page)
            self._ready = True

    async def search(self, query: str, topn: int, http: httpx.AsyncClient) -> list[SearchResult]:
        """Returns the `topn` best matches of any of the query's words."""
        words = _WORD.findall(query)
        if not words:
            return []
        expression = " OR ".join(f'"{word}"' for word in words)
        rows = await asyncio.to_thread(self._query, _QUERY, (expression, topn))
        return [SearchResult(title=title, url=url, snippet=snippet) for url, title, snippet in rows]

    async def page(self, url: str) -> Page | None:
        """The indexed page of `url`, if the index holds it."""
        if not self._ready:  # building: the index does not exist yet
            return None
        rows = await asyncio.to_thread(
            self._query, "SELECT page FROM documents WHERE url = ? LIMIT 1", (url,)
        )
        return Page.model_validate_json(rows[0][0]) if rows else None

    def _query(self, sql: str, parameters: tuple[object, ...]) -> list[tuple[str, ...]]:
        read_only = f"{self._config.index.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(read_only, uri=True)) as connection:
            return list(connection.execute(sql, parameters))

    async def _build(self, fetch_page: PageFetcher) -> None:
        pages: list[Page] = []
        if self._config.folder is not None:
            pages += await asyncio.to_thread(_folder_pages, self._config.folder)
        for url in self._config.urls:
            try:
                pages.append(await fetch_page(url))
            except OpenError as error:
                raise ConfigError(f"local index: cannot index a URL. {error}") from None
        await asyncio.to_thread(_write, self._config.index, pages)


def _folder_pages(folder: Path) -> list[Page]:
    if not folder.is_dir():
        raise ConfigError(f"local index: the folder {folder} does not exist.")
    pages: list[Page] = []
    for path in sorted(folder.rglob("*")):
        media_type = _SUFFIXES.get(path.suffix.lower())
        if media_type is None or not path.is_file():
            continue
        download = Download(
            url=path.resolve().as_uri(),
            media_type=media_type,
            charset=None,
            body=path.read_bytes(),
        )
        try:
            # The folder is the developer's: its documents' text is not bounded here.
            pages.append(to_page(download, max_chars=sys.maxsize))
        except OpenError as error:
            raise ConfigError(f"local index: cannot index {path}. {error}") from None
    return pages


def _searchable(page: Page) -> str:
    return strip_links(page.text.removeprefix(url_header(page.url)))


def _write(index: Path, pages: Iterable[Page]) -> None:
    index.parent.mkdir(parents=True, exist_ok=True)
    partial = index.with_name(index.name + ".partial")
    partial.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(partial)) as connection, connection:
        connection.execute(_SCHEMA)
        connection.executemany(
            "INSERT INTO documents (url, title, body, page) VALUES (?, ?, ?, ?)",
            ((page.url, page.title, _searchable(page), page.model_dump_json()) for page in pages),
        )
    partial.replace(index)  # a crash mid-build leaves no half-built index behind
