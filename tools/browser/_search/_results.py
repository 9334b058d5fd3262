"""The page `search` shows: one link per result, with its snippet."""

from __future__ import annotations

from collections.abc import Sequence

from harmony_agent.tools.browser._links import clean_text, domain_of, link_marker
from harmony_agent.tools.browser._page import Page, PageKind
from harmony_agent.tools.browser._search._backend import SearchResult

__all__ = ["results_page"]


def results_page(query: str, results: Sequence[SearchResult]) -> Page:
    """The results page for `query`: titled with the query, no URL of its own (as in the
    gpt-oss reference), each result a line `  * 【{id}†{title}†{domain}】 {snippet}`.
    """
    items = []
    for link_id, result in enumerate(results):
        title = _one_line(result.title) or result.url
        marker = link_marker(link_id, title, domain_of(result.url))
        items.append(f"  * {marker} {_one_line(result.snippet)}".rstrip())
    text = "# Search Results\n\n" + "\n".join(items)
    links = {link_id: result.url for link_id, result in enumerate(results)}
    return Page(url="", title=query, text=text, kind=PageKind.SEARCH, links=links)


def _one_line(text: str) -> str:
    return " ".join(clean_text(text).split())
