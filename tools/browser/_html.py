"""HTML to page text: the main content (trafilatura) with its links and headings kept.

trafilatura finds the main content and returns it as an XML tree (`head`, `p`, `list`,
`table`, `ref`, ...). One walker turns that tree, or the whole HTML body when the main content
is short, into markdown-like text whose links are `【{id}†{text}】` markers.

Below `MIN_MAIN_CONTENT` characters of main content trafilatura itself distrusts its result and
falls back to raw-text heuristics that drop links and headings; here the whole body is shown
instead, links and all (short pages, link lists, index pages).
"""

from __future__ import annotations

import functools
import re
from configparser import ConfigParser
from dataclasses import dataclass
from enum import Enum, auto
from typing import Any

import lxml.etree
import lxml.html
import trafilatura
import trafilatura.settings
from harmony_agent.tools.browser._links import LinkTable, clean_text

__all__ = ["MIN_MAIN_CONTENT", "HtmlText", "html_to_text"]

MIN_MAIN_CONTENT = 250
"""Characters of main content below which the whole body is shown (trafilatura's own
`MIN_EXTRACTED_SIZE` default)."""


@dataclass(frozen=True)
class HtmlText:
    """The readable text of an HTML document, its title and its links (id -> URL)."""

    title: str
    text: str
    links: dict[int, str]


class _Role(Enum):
    HEADING = auto()
    PARAGRAPH = auto()
    LIST = auto()
    ITEM = auto()
    TABLE = auto()
    ROW = auto()
    CELL = auto()
    CODE = auto()
    QUOTE = auto()
    BLOCK = auto()
    BREAK = auto()
    LINK = auto()
    SKIP = auto()
    INLINE = auto()


_BLOCKS = frozenset(
    {_Role.HEADING, _Role.PARAGRAPH, _Role.LIST, _Role.TABLE, _Role.CODE, _Role.QUOTE, _Role.BLOCK}
)
_SEPARATED = _BLOCKS | {_Role.ITEM, _Role.ROW, _Role.CELL}  # words apart even when flattened

# trafilatura's output vocabulary.
_EXTRACTED_ROLES = {
    "head": _Role.HEADING,
    "p": _Role.PARAGRAPH,
    "list": _Role.LIST,
    "item": _Role.ITEM,
    "table": _Role.TABLE,
    "row": _Role.ROW,
    "cell": _Role.CELL,
    "code": _Role.CODE,
    "quote": _Role.QUOTE,
    "lb": _Role.BREAK,
    "ref": _Role.LINK,
    "graphic": _Role.SKIP,
    "body": _Role.BLOCK,
    "div": _Role.BLOCK,
    "main": _Role.BLOCK,
}

_SKIPPED = (  # noqa: SIM905 - a word list reads better as words
    "script style noscript template svg math head title iframe object embed canvas img video "
    "audio picture source map button select option input textarea"
).split()
_CONTAINERS = (  # noqa: SIM905
    "html body div section article main header footer nav aside dl dt dd figure figcaption "
    "thead tbody tfoot caption form fieldset details summary address center hr hgroup menu"
).split()

# Plain HTML, for pages where trafilatura finds no main content.
_HTML_ROLES = {
    **{f"h{level}": _Role.HEADING for level in range(1, 7)},
    "p": _Role.PARAGRAPH,
    "ul": _Role.LIST,
    "ol": _Role.LIST,
    "li": _Role.ITEM,
    "table": _Role.TABLE,
    "tr": _Role.ROW,
    "td": _Role.CELL,
    "th": _Role.CELL,
    "pre": _Role.CODE,
    "blockquote": _Role.QUOTE,
    "br": _Role.BREAK,
    "a": _Role.LINK,
    **dict.fromkeys(_SKIPPED, _Role.SKIP),
    **dict.fromkeys(_CONTAINERS, _Role.BLOCK),
}

_LINE_BREAK = "\ue000"  # stands for a <br> while whitespace is collapsed
_WHITESPACE = re.compile(r"\s+")
_BREAK_SPACES = re.compile(rf" ?{_LINE_BREAK} ?")


def html_to_text(html: str, url: str) -> HtmlText:
    """Extracts the readable text of `html` (served at `url`), keeping links and headings.

    Runs trafilatura (main content, tables, links); when that finds less than
    `MIN_MAIN_CONTENT` characters, renders the whole body. Relative links are resolved
    against `url`.
    """
    html = html.replace(_LINE_BREAK, "")
    tree = _parse(html)
    if tree is None:
        return HtmlText(title="", text="", links={})
    title = _title(tree)
    extracted = trafilatura.bare_extraction(
        tree,  # trafilatura works on a copy
        url=url or None,
        favor_recall=True,
        include_comments=False,
        include_tables=True,
        include_links=True,
        include_formatting=False,
        with_metadata=False,
        config=_trafilatura_config(),
    )
    body = getattr(extracted, "body", None)
    if body is not None and len("".join(body.itertext()).strip()) >= MIN_MAIN_CONTENT:
        walker = _Walker(url)
        text = walker.render(body, _EXTRACTED_ROLES)
    else:
        walker = _Walker(url)
        text = walker.render(tree, _HTML_ROLES)
    return HtmlText(title=title, text=text, links=walker.links.urls)


@functools.cache
def _trafilatura_config() -> ConfigParser:
    """The settings for trafilatura, its raw-text fallback off (see the module docstring)."""
    config = trafilatura.settings.use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    return config


def _parse(html: str) -> Any:
    parser = lxml.html.HTMLParser(
        encoding="utf-8", collect_ids=False, remove_comments=True, remove_pis=True
    )
    try:
        return lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None


def _title(tree: Any) -> str:
    for path in (".//title", ".//h1"):
        element = tree.find(path)
        if element is not None:
            title = _collapse(clean_text(element.text_content()))
            if title:
                return title
    return ""


def _collapse(text: str) -> str:
    text = _WHITESPACE.sub(" ", text).strip()
    return _BREAK_SPACES.sub("\n", text).strip("\n")


class _Walker:
    """Renders one element tree to text; collects the links it meets."""

    def __init__(self, url: str) -> None:
        self.links = LinkTable(url)
        self._roles: dict[str, _Role] = {}

    def render(self, root: Any, roles: dict[str, _Role]) -> str:
        self._roles = roles
        return "\n\n".join(self._blocks(root))

    def _role(self, element: Any) -> _Role:
        if not isinstance(element.tag, str):  # comments, processing instructions
            return _Role.SKIP
        return self._roles.get(element.tag.lower(), _Role.INLINE)

    def _blocks(self, element: Any) -> list[str]:
        """The blocks inside `element`: block children, and runs of inline content between."""
        blocks: list[str] = []
        run: list[str] = [clean_text(element.text or "")]
        for child in element:
            role = self._role(child)
            if role in _BLOCKS:
                blocks += self._paragraph(run)
                run = []
                rendered = self._block(child, role)
                if rendered:
                    blocks.append(rendered)
            else:
                run.append(self._inline(child, role))
            run.append(clean_text(child.tail or ""))
        blocks += self._paragraph(run)
        return blocks

    @staticmethod
    def _paragraph(run: list[str]) -> list[str]:
        text = _collapse("".join(run))
        return [text] if text else []

    def _block(self, element: Any, role: _Role) -> str:
        if role is _Role.HEADING:
            text = _collapse(self._inline_children(element)).replace("\n", " ")
            return f"{'#' * _heading_level(element)} {text}" if text else ""
        if role is _Role.LIST:
            return self._list(element)
        if role is _Role.TABLE:
            rows = (self._row(row) for row in _rows(element, self._role))
            return "\n".join(row for row in rows if row)
        if role is _Role.CODE:
            code = clean_text("".join(element.itertext())).strip("\n")
            return f"```\n{code}\n```" if code.strip() else ""
        if role is _Role.QUOTE:
            lines = "\n\n".join(self._blocks(element)).split("\n")
            return "\n".join(f"> {line}" if line else ">" for line in lines)
        return "\n\n".join(self._blocks(element))

    def _list(self, element: Any) -> str:
        ordered = element.tag == "ol" or element.get("rend", "") == "ol"
        items: list[str] = []
        for child in element:
            text = "\n".join(self._blocks(child)) if self._role(child) is _Role.ITEM else ""
            if not text:
                continue
            marker = f"{len(items) + 1}." if ordered else "*"
            first, *rest = text.split("\n")
            items.append("\n".join([f"  {marker} {first}", *(f"    {line}" for line in rest)]))
        return "\n".join(items)

    def _row(self, row: Any) -> str:
        cells = (
            _collapse(self._inline_children(cell)).replace("\n", " ")
            for cell in row
            if self._role(cell) is _Role.CELL
        )
        return " | ".join(cells).strip(" |")

    def _inline(self, element: Any, role: _Role) -> str:
        if role is _Role.SKIP:
            return ""
        if role is _Role.BREAK:
            return _LINE_BREAK
        if role is _Role.LINK:
            href = element.get("target") or element.get("href") or ""
            label = _collapse(self._inline_children(element)).replace("\n", " ")
            return self.links.marker(href, label)
        if role is _Role.CODE:
            code = _collapse(clean_text("".join(element.itertext())))
            return f"`{code}`" if code else ""
        return self._inline_children(element)

    def _inline_children(self, element: Any) -> str:
        parts = [clean_text(element.text or "")]
        for child in element:
            role = self._role(child)
            text = self._inline(child, role)
            # Blocks met inside inline content (a <div> in a link) still separate words.
            parts.append(f" {text} " if role in _SEPARATED else text)
            parts.append(clean_text(child.tail or ""))
        return "".join(parts)


def _heading_level(element: Any) -> int:
    name = element.get("rend") or element.tag
    if len(name) == 2 and name[0] in "hH" and name[1] in "123456":
        return int(name[1])
    return 2


def _rows(table: Any, role_of: Any) -> list[Any]:
    """The rows of `table`, through row groups but not into nested tables."""
    rows: list[Any] = []
    for child in table:
        role = role_of(child)
        if role is _Role.ROW:
            rows.append(child)
        elif role is not _Role.TABLE and role is not _Role.SKIP:
            rows += _rows(child, role_of)
    return rows
