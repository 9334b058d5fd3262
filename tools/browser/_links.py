"""Links inside page text: `【{id}†{text}】` markers and the table from ids to URLs."""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urljoin, urlsplit

__all__ = [
    "LINK_PATTERN",
    "LinkTable",
    "clean_text",
    "domain_of",
    "link_marker",
    "strip_links",
]

LINK_PATTERN = re.compile(r"【\d+†(?P<text>[^†】]+)(?:†[^†】]+)?】")
"""A complete link marker; `text` is its visible text."""

_PARTIAL_START = re.compile(r"^[^【】]*】")
_PARTIAL_END = re.compile(r"【\d*(?:†(?P<text>[^†】]*)(?:†[^†】]*)?)?$")
_RESERVED = str.maketrans(
    {
        "【": "〖",
        "】": "〗",
        "◼": "◾",
        "\u200b": None,
        # Lone surrogates (from JSON escapes, or the unicode_escape charset) cannot be encoded.
        **dict.fromkeys(map(chr, range(0xD800, 0xE000)), "\ufffd"),
    }
)
_NOT_FOLLOWED = ("mailto:", "javascript:", "tel:", "data:", "#")


def clean_text(text: str) -> str:
    """Replaces the characters that link markers use, so page text cannot fake a link, and
    lone surrogates, which no encoding can write.
    """
    return text.translate(_RESERVED)


def strip_links(text: str) -> str:
    """Replaces each link marker with its visible text (also one cut at either end)."""
    text = _PARTIAL_START.sub("", text)
    text = _PARTIAL_END.sub(lambda match: match.group("text") or "", text)
    return LINK_PATTERN.sub(lambda match: match.group("text"), text)


def link_marker(link_id: int, text: str, domain: str) -> str:
    """`【{id}†{text}†{domain}】`, or `【{id}†{text}】` when `domain` is empty."""
    text = text.replace("†", "‡")
    return f"【{link_id}†{text}†{domain}】" if domain else f"【{link_id}†{text}】"


def domain_of(url: str) -> str:
    """The host (and port) part of `url`, or "" when it has none."""
    return urlsplit(url).netloc


class LinkTable:
    """Numbers the links of one page in order of appearance, one id per distinct URL."""

    def __init__(self, page_url: str) -> None:
        self._page_url = page_url
        self._page_domain = domain_of(page_url)
        self._ids: dict[str, int] = {}

    @property
    def urls(self) -> dict[int, str]:
        """Link id -> absolute URL."""
        return {link_id: url for url, link_id in self._ids.items()}

    def marker(self, href: str, text: str) -> str:
        """The text to show for a link to `href` (relative to the page) labelled `text`.

        Links the browser cannot follow (mail, scripts, fragments of this page) show as their
        text; links without text (images) show as nothing.
        """
        text = text.strip()
        href = href.strip()
        if not text or not href or href.startswith(_NOT_FOLLOWED):
            return text
        url = urldefrag(urljoin(self._page_url, href)).url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return text
        link_id = self._ids.setdefault(url, len(self._ids))
        return link_marker(link_id, text, "" if parts.netloc == self._page_domain else parts.netloc)
