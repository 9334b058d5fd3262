"""The view of a page the model reads: a header, a scrollbar and numbered lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from harmony_agent.tools._base import ToolError
from harmony_agent.tools.browser._page import Page

__all__ = ["TokenCounter", "View", "render_view", "viewport_end"]

TokenCounter = Callable[[str], int]
"""Counts the tokens of a text in the model's vocabulary."""

_MAX_HEADER_URL = 1024
_MAX_HEADER_TITLE = 256  # a page's title is its own: it could fill every view of it


@dataclass(frozen=True)
class View:
    """A rendered view: `text` for the model, showing lines `start` to `end` (exclusive)."""

    text: str
    start: int
    end: int


def render_view(
    page: Page,
    cursor: int,
    *,
    loc: int,
    num_lines: int,
    view_tokens: int,
    max_view_tokens: int,
    count_tokens: TokenCounter,
) -> View:
    """Renders lines of `page` from `loc`: `num_lines` of them up to `max_view_tokens` tokens,
    or (`num_lines` <= 0) as many as fit in `view_tokens` tokens.

    The format is the gpt-oss reference browser's::

        [{cursor}] {title} ({url})
        **viewing lines [{first} - {last}] of {last line of the page}**

        L{first}: ...
    """
    lines = page.lines
    if loc < 0:
        loc = 0
    if loc >= len(lines):
        raise ToolError(
            f"Invalid location parameter: `{loc}`. Cannot exceed page maximum of {len(lines) - 1}."
        )
    if num_lines > 0:  # a page-sized `num_lines` is not a page-sized tool message
        stop = min(loc + num_lines, len(lines))
        end = viewport_end(lines, loc, max_view_tokens, count_tokens, stop=stop)
    else:
        end = viewport_end(lines, loc, view_tokens, count_tokens)
    header = f"[{cursor}] {_truncate(page.title, _MAX_HEADER_TITLE)}"
    if page.url:
        header += f" ({_truncate(unquote(page.url), _MAX_HEADER_URL)})"
    body = "\n".join(f"L{i}: {lines[i]}" for i in range(loc, end))
    scrollbar = f"**viewing lines [{loc} - {end - 1}] of {len(lines) - 1}**"
    return View(f"{header}\n{scrollbar}\n\n{body}", loc, end)


def viewport_end(
    lines: Sequence[str],
    loc: int,
    view_tokens: int,
    count_tokens: TokenCounter,
    *,
    stop: int | None = None,
) -> int:
    """The end (exclusive, at most `stop`) of a viewport starting at `loc` that holds about
    `view_tokens` tokens.

    Numbered lines are counted one by one; the line that crosses the budget is still shown
    (the reference rounds up to a whole line too). At least one line is always shown.
    """
    end = len(lines) if stop is None else stop
    used = 0
    for index in range(loc, end):
        used += count_tokens(f"L{index}: {lines[index]}\n")
        if used > view_tokens:
            return index + 1
    return end


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
