"""A page the browser holds: its text, its links, and its lines as the model sees them."""

from __future__ import annotations

import functools
import itertools
import textwrap
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LINE_WIDTH", "Page", "PageKind", "with_lines", "wrap_lines"]

LINE_WIDTH = 80
"""Pages are wrapped at this many characters per line, as in the gpt-oss reference browser."""


class PageKind(StrEnum):
    """What a page is."""

    WEB = "web"
    """A document: fetched over HTTP or held by the search backend."""
    SOURCE = "source"
    """The raw source of a document (`open(view_source=true)`)."""
    SEARCH = "search"
    """Search results: one link per result."""
    FIND = "find"
    """The matches of `find` in another page."""


class Page(BaseModel):
    """One page: what `search`, `open` and `find` put under a cursor.

    `text` is the page body with links written `【{id}†{text}】` (same domain) or
    `【{id}†{text}†{domain}】`; `links` maps each id to its URL. `url` is shown in the view's
    header ("" for search results, which have none). `link_lines` gives, for a find page, the
    line of the searched page each match link opens at. `origin_url` is the document a find
    page searched.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    title: str
    text: str
    kind: PageKind = PageKind.WEB
    links: dict[int, str] = Field(default_factory=dict)
    link_lines: dict[int, int] = Field(default_factory=dict)
    origin_url: str | None = None

    @functools.cached_property
    def lines(self) -> list[str]:
        """The text wrapped into the numbered lines the model sees (`L0`, `L1`, ...)."""
        return wrap_lines(self.text)

    @property
    def document_url(self) -> str | None:
        """The URL the page's content comes from, for citations (None for search results)."""
        if self.kind is PageKind.FIND:
            return self.origin_url
        if self.kind is PageKind.SEARCH:
            return None
        return self.url


def with_lines(page: Page, lines: list[str]) -> Page:
    """`page` with its `lines` already wrapped, e.g. by the conversion worker, where wrapping
    is bounded in time; `lines` must be `wrap_lines(page.text)`.
    """
    page.__dict__["lines"] = lines  # where `functools.cached_property` keeps its value
    return page


def wrap_lines(text: str, width: int = LINE_WIDTH) -> list[str]:
    """Wraps each line of `text` at `width`, keeping whitespace and empty lines.

    Spaces are not dropped at the breaks (a continuation line may start with one); this is the
    wrapping the gpt-oss reference browser uses (`textwrap`), in linear time.
    """
    wrapper = _LineWrapper(width=width, replace_whitespace=False, drop_whitespace=False)
    return list(
        itertools.chain.from_iterable(
            wrapper.wrap(line) if line else [""] for line in text.split("\n")
        )
    )


class _LineWrapper(textwrap.TextWrapper):
    """`textwrap.TextWrapper` without its quadratic case: for every line it cuts off a word
    longer than the width, textwrap copies the rest of the word (minutes for a 9 MB line).
    Here the rest is cut into lines at once, where textwrap would cut it the same way: at
    every `width` characters, unless a hyphen offers an earlier break.
    """

    def _handle_long_word(
        self, reversed_chunks: list[str], cur_line: list[str], cur_len: int, width: int
    ) -> None:
        super()._handle_long_word(reversed_chunks, cur_line, cur_len, width)
        rest, line_width = reversed_chunks[-1], self.width - len(self.subsequent_indent)
        if line_width > 0 and len(rest) > line_width and "-" not in rest:
            starts = range(0, len(rest), line_width)
            reversed_chunks[-1:] = [rest[start : start + line_width] for start in reversed(starts)]
