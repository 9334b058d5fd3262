"""The browser tool: the `browser` namespace gpt-oss was trained on."""

from __future__ import annotations

import math

from harmony_agent.sandbox._errors import ConfigError
from harmony_agent.tools._base import BuiltinTool, ToolNamespace
from harmony_agent.tools.browser._clients import ClientPool
from harmony_agent.tools.browser._config import BrowserConfig
from harmony_agent.tools.browser._search._backend import SearchBackend
from harmony_agent.tools.browser._session import BrowserSession
from harmony_agent.tools.browser._view import TokenCounter

__all__ = ["Browser", "estimate_tokens"]

BYTES_PER_TOKEN = 2.75
"""UTF-8 bytes per o200k token in rendered views, rounded down from the measured average
(see bench/results/browser.md): the estimate errs towards more tokens, smaller views."""


def estimate_tokens(text: str) -> int:
    """A tokenizer-free token count: UTF-8 bytes / `BYTES_PER_TOKEN`, rounded up."""
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


class Browser(BuiltinTool):
    """Web browsing for the model: `browser.search`, `browser.open`, `browser.find`.

    Configuration only, shared by every run; each run gets a `BrowserSession` with its own
    pages. Runs share the HTTP clients, the limit on concurrent fetches and the worker
    processes that convert pages; these start when first needed and end with the last run,
    or, inside `async with browser:`, when the block ends (a process serving run after run
    keeps its workers warm this way; a worker takes about half a second of CPU to start).

    Args:
        config: Settings; the search backend comes from `config.search`.
        backend: A search backend object instead of `config.search` (e.g. a custom one).
        count_tokens: Counts tokens for the viewport; give the model's tokenizer for exact
            views. Default: `estimate_tokens`.
    """

    def __init__(
        self,
        config: BrowserConfig | None = None,
        *,
        backend: SearchBackend | None = None,
        count_tokens: TokenCounter | None = None,
    ) -> None:
        self.config = config or BrowserConfig()
        if backend is not None and self.config.search is not None:
            raise ConfigError("Browser: give a search backend in `config.search` or `backend`.")
        search = self.config.search
        self.backend = backend if backend is not None else search.build() if search else None
        self._count_tokens = count_tokens or estimate_tokens
        self._pool = ClientPool(self.config.fetch)

    async def __aenter__(self) -> Browser:
        """Holds this event loop's clients and workers open until the block ends."""
        self._pool.acquire()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._pool.release(self._pool.held())

    @property
    def namespace(self) -> ToolNamespace:
        """`browser`, described by harmony's trained text."""
        return ToolNamespace(name="browser", description=None)

    async def open_session(self) -> BrowserSession:
        """Starts a run's browser; prepares the search backend (checks keys, builds indexes)."""
        session = BrowserSession(
            config=self.config,
            backend=self.backend,
            pool=self._pool,
            count_tokens=self._count_tokens,
        )
        if self.backend is not None:
            try:
                await self.backend.start(session.fetch_page)
            except BaseException:
                await session.aclose()
                raise
        return session
