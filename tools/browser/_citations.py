"""Citations in a final answer, `【{cursor}†L{a}】` or `【{cursor}†L{a}-L{b}】`, resolved to
the document, title and lines they point at.
"""

from __future__ import annotations

import re

from harmony_agent.tools._base import Citation
from harmony_agent.tools.browser._links import LINK_PATTERN, strip_links
from harmony_agent.tools.browser._page import Page
from harmony_agent.tools.browser._state import BrowserState

__all__ = ["CITATION_PATTERN", "resolve_citations"]

CITATION_PATTERN = re.compile(r"【(?P<cursor>\d+)†L(?P<start>\d+)(?:-L(?P<end>\d+))?】")
"""The citation format the browser's namespace description teaches the model."""

_LINK_ID = re.compile(r"【(?P<id>\d+)†")


def resolve_citations(answer: str, state: BrowserState) -> list[Citation]:
    """The citations in `answer` that point at a page and lines the run's browser showed.

    A citation of a find page resolves to the page searched; one of a search results page to
    the first result on the cited lines. Citations whose cursor does not exist, whose first
    line is past the page's end, or that point at no document are left out; a last line past
    the end is clipped to the page's last line.
    """
    citations: list[Citation] = []
    for match in CITATION_PATTERN.finditer(answer):
        cursor = int(match["cursor"])
        if cursor >= len(state.cursors):
            continue
        page = state.pages[state.cursors[cursor]]
        start = int(match["start"])
        end = min(int(match["end"] or start), len(page.lines) - 1)
        if start >= len(page.lines) or end < start:
            continue
        cited = "\n".join(page.lines[start : end + 1])
        source = _source(page, cited)
        if source is None:
            continue
        url, title = source
        citations.append(Citation(match[0], url, title, (start, end), strip_links(cited)))
    return citations


def _source(page: Page, cited: str) -> tuple[str, str] | None:
    """The URL and title a citation of `cited` lines of `page` refers to."""
    if page.document_url is not None:
        return page.document_url, page.title
    link = _LINK_ID.search(cited)
    if link is None or int(link["id"]) not in page.links:
        return None
    title = LINK_PATTERN.match(cited, link.start())
    return page.links[int(link["id"])], title["text"] if title else page.title
