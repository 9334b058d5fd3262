"""Citations in a final answer, `【{cursor}†L{a}】` or `【{cursor}†L{a}-L{b}】`, resolved to
the page, URL and lines they point at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harmony_agent.tools.browser._links import strip_links
from harmony_agent.tools.browser._state import BrowserState

__all__ = ["CITATION_PATTERN", "Citation", "resolve_citations"]

CITATION_PATTERN = re.compile(r"【(?P<cursor>\d+)†L(?P<start>\d+)(?:-L(?P<end>\d+))?】")
"""The citation format the browser's namespace description teaches the model."""


@dataclass(frozen=True)
class Citation:
    """One citation: where it stands in the answer (`span`), and what it cites.

    `url` is the cited document's URL (the searched page for a find result; None for a
    search results page). `text` is the cited lines, links shown as their text.
    """

    cursor: int
    url: str | None
    title: str
    start_line: int
    end_line: int
    text: str
    span: tuple[int, int]


def resolve_citations(answer: str, state: BrowserState) -> list[Citation]:
    """The citations in `answer` that point at a page and lines the run's browser showed.

    A citation whose cursor does not exist or whose first line is past the page's end is
    left out; a last line past the end is clipped to the page's last line.
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
        citations.append(
            Citation(
                cursor=cursor,
                url=page.document_url,
                title=page.title,
                start_line=start,
                end_line=end,
                text=strip_links("\n".join(page.lines[start : end + 1])),
                span=match.span(),
            )
        )
    return citations
