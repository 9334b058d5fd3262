"""Turns fetched bytes into a page: HTML, plain text, JSON or PDF, in whatever charset.

The bytes are hostile until shown otherwise: a declared charset counts only when it names a
text encoding, a document nested too deeply for the parsers is an `OpenError`, and no page
text grows beyond the caller's bound. The conversion can still be slow: callers run it where
it can be stopped (`_converter`).
"""

from __future__ import annotations

import codecs
import io
import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import charset_normalizer
import pypdf
import pypdf.errors
from harmony_agent.tools.browser._errors import OpenError
from harmony_agent.tools.browser._html import html_to_text
from harmony_agent.tools.browser._links import clean_text
from harmony_agent.tools.browser._page import Page, PageKind

__all__ = ["Download", "to_page", "url_header"]

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_JSON_TYPES = frozenset({"application/json", "text/json"})
_TEXT_TYPES = frozenset({"application/xml", "application/javascript", "application/x-yaml"})
_PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_INDENTED = json.JSONEncoder(indent=2, ensure_ascii=False)
# What browsers decode these labels as (the WHATWG encoding standard).
_BROWSER_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}


@dataclass(frozen=True)
class Download:
    """A fetched document: its final URL, media type (lowercase, no parameters), the charset
    its headers declare, and its body.
    """

    url: str
    media_type: str
    charset: str | None
    body: bytes


def to_page(download: Download, *, max_chars: int, view_source: bool = False) -> Page:
    """Converts a download to a page, its lines wrapped; its text starts with the document's URL.

    With `view_source`, shows the document's raw text instead of its extracted content.
    Raises `OpenError` for binary documents other than PDF, unreadable PDFs, documents nested
    too deeply to parse, and text or wrapped lines longer than `max_chars` characters.
    """
    try:
        page = _to_page(download, max_chars=max_chars, view_source=view_source)
    except RecursionError:
        raise OpenError(download.url, "it is nested too deeply to read.") from None
    # Wrapping expands tabs: 8 characters of lines for each tab of text.
    if len(page.text) > max_chars or sum(map(len, page.lines)) > max_chars:
        raise OpenError(
            download.url, f"its text is longer than {max_chars} characters, the browser's limit."
        )
    return page


def _to_page(download: Download, *, max_chars: int, view_source: bool) -> Page:
    kind = _kind(download)
    if view_source:
        if kind == "pdf":
            raise OpenError(download.url, "a PDF has no source to view; open it without it.")
        text = clean_text(_decode(download, sniff_html=kind == "html"))
        url = f"view-source:{download.url}"
        return Page(url=url, title=url, text=text, kind=PageKind.SOURCE)
    if kind == "html":
        html = html_to_text(_decode(download, sniff_html=True), download.url)
        title, text, links = html.title, html.text, html.links
    elif kind == "pdf":
        title, text = _pdf_text(download)
        links = {}
    elif kind == "json":
        title, text = "", _json_text(_decode(download, sniff_html=False), max_chars)
        links = {}
    else:
        title, text, links = "", clean_text(_decode(download, sniff_html=False)), {}
    return Page(
        url=download.url,
        title=title or _file_name(download.url),
        text=url_header(download.url) + text,
        links=links,
    )


def url_header(url: str) -> str:
    """What a document page's text starts with: its URL (as in the gpt-oss reference)."""
    return f"\nURL: {url}\n"


def _kind(download: Download) -> str:
    media_type = download.media_type
    if media_type in _HTML_TYPES:
        return "html"
    if media_type in _PDF_TYPES:
        return "pdf"
    if media_type in _JSON_TYPES or media_type.endswith("+json"):
        return "json"
    if media_type.startswith("text/") or media_type in _TEXT_TYPES:
        return "text"
    if media_type in ("", "application/octet-stream", "binary/octet-stream"):
        sniffed = _sniff(download.body)
        if sniffed is not None:
            return sniffed
    shown = media_type or "unknown"
    raise OpenError(
        download.url,
        f"it is a `{shown}` document, which the browser cannot show "
        "(it reads HTML, text, JSON and PDF).",
    )


def _sniff(body: bytes) -> str | None:
    head = body[:512].lstrip().lower()
    if head.startswith(b"%pdf-"):
        return "pdf"
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if b"\x00" not in body[:4096] and _decodes_as_text(body[:4096]):
        return "text"
    return None


def _decodes_as_text(sample: bytes) -> bool:
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(sample) - 3  # only a character cut at the end
    return True


def _decode(download: Download, *, sniff_html: bool) -> str:
    """Decodes the body: BOM, declared charset, `<meta charset>`, UTF-8, then detection."""
    body = download.body
    for bom, bom_encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(bom_encoding, "replace")
    candidates = [download.charset]
    if sniff_html:
        match = _META_CHARSET.search(body[:4096])
        candidates.append(match.group(1).decode("ascii") if match else None)
    candidates.append("utf-8")
    for label in candidates:
        encoding = _codec(label)
        if encoding is None:
            continue
        try:
            return body.decode(encoding)
        except UnicodeError:  # idna, for one, raises UnicodeError itself
            continue
    best = charset_normalizer.from_bytes(body).best()
    if best is not None:
        return str(best)
    return body.decode("utf-8", "replace")


def _codec(label: str | None) -> str | None:
    """The text encoding a charset label names; None for unknown names and for codecs that
    are not text encodings (`zlib`, `base64`, `rot13`, ...), which a page may not choose.
    """
    if not label:
        return None
    wanted = label.strip().lower()
    try:
        codec = codecs.lookup(wanted)
    except (LookupError, ValueError):  # ValueError: not a name at all (a NUL in it)
        return None
    if not codec._is_text_encoding:
        return None
    return _BROWSER_ALIASES.get(wanted, _BROWSER_ALIASES.get(codec.name, codec.name))


def _json_text(text: str, max_chars: int) -> str:
    """The JSON indented, or as it is when it does not parse, nests deeper than the parser
    goes, or would indent into more than `max_chars` characters (nesting multiplies the
    indentation: a few kilobytes can indent into megabytes).
    """
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return clean_text(text)
    pieces: list[str] = []
    size = 0
    try:
        for piece in _INDENTED.iterencode(value):
            size += len(piece)
            if size > max_chars:
                return clean_text(text)
            pieces.append(piece)
    except RecursionError:
        return clean_text(text)
    return clean_text("".join(pieces))


def _pdf_text(download: Download) -> tuple[str, str]:
    try:
        reader = pypdf.PdfReader(io.BytesIO(download.body))
        if reader.is_encrypted:
            raise OpenError(download.url, "the PDF is encrypted; its text cannot be read.")
        pages = [page.extract_text() for page in reader.pages]
        title = reader.metadata.title if reader.metadata is not None else None
    except (pypdf.errors.PyPdfError, ValueError, KeyError) as error:
        raise OpenError(download.url, f"the PDF could not be read ({error}).") from None
    return clean_text(str(title or "")), clean_text("\n\n".join(pages))


def _file_name(url: str) -> str:
    parts = urlsplit(url)
    return unquote(PurePosixPath(parts.path).name) or parts.netloc or url
