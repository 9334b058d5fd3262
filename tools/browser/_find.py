"""`find`: the lines of a page that contain a pattern, as a page of links to them."""

from __future__ import annotations

from urllib.parse import quote

from harmony_agent.tools.browser._links import strip_links
from harmony_agent.tools.browser._page import Page, PageKind

__all__ = ["MATCH_LINES", "MAX_MATCHES", "find_in_page"]

MAX_MATCHES = 50
"""At most this many matches are listed (the gpt-oss reference browser's limit)."""
MATCH_LINES = 4
"""Lines shown per match, starting with the matching one (the reference's window)."""


def find_in_page(page: Page, pattern: str) -> Page:
    """The find-results page for `pattern` in `page`, matched case-insensitively.

    Each match is a link `【{n}†match at L{line}】` back to `page` at that line, followed by
    the lines it shows; lines already shown under a match are not searched again.
    """
    needle = pattern.lower()
    lines = strip_links("\n".join(page.lines)).split("\n")
    chunks: list[str] = []
    link_lines: dict[int, int] = {}
    index = 0
    while index < len(lines) and len(chunks) < MAX_MATCHES:
        if needle not in lines[index].lower():
            index += 1
            continue
        match = len(chunks)
        window = "\n".join(lines[index : index + MATCH_LINES])
        chunks.append(f"# 【{match}†match at L{index}】\n{window}")
        link_lines[match] = index
        index += MATCH_LINES
    text = "\n\n".join(chunks) if chunks else f"No `find` results for pattern: `{needle}`"
    return Page(
        url=f"{page.url}/find?pattern={quote(needle)}",
        title=f"Find results for text: `{needle}` in `{page.title}`",
        text=text,
        kind=PageKind.FIND,
        links=dict.fromkeys(link_lines, page.url),
        link_lines=link_lines,
        origin_url=page.document_url,
    )
