"""Documents built to break the conversion: bogus charsets, deep nesting, amplification, long
lines. Each must become a page or a clear `OpenError`, never another exception.
"""

from __future__ import annotations

import textwrap

import pytest
from harmony_agent.tools.browser._content import Download, to_page
from harmony_agent.tools.browser._errors import OpenError
from harmony_agent.tools.browser._page import wrap_lines
from harmony_agent.tools.browser._view import render_view
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes import one_page_pdf

TEXT = "Grüße aus Köln"
LIMIT = 10_000_000


@pytest.mark.parametrize(
    "charset",
    ["zlib", "rot13", "base64", "hex", "bz2", "uu", "quopri", "undefined", "utf-8\x00", "x" * 5000],
)
def test_a_charset_that_is_not_a_text_encoding_falls_back(charset: str) -> None:
    page = to_page(
        Download("http://x.example/t", "text/plain", charset, TEXT.encode()), max_chars=LIMIT
    )
    assert page.text.endswith(TEXT)


@pytest.mark.parametrize("charset", ["rot13", "zlib", "base64", "utf-8\x00"])
def test_a_meta_charset_that_is_not_a_text_encoding_falls_back(charset: str) -> None:
    html = f'<html><head><meta charset="{charset}"><title>{TEXT}</title></head></html>'
    page = to_page(Download("http://x.example/", "text/html", None, html.encode()), max_chars=LIMIT)
    assert page.title == TEXT


def test_a_text_encoding_that_cannot_decode_the_body_falls_back() -> None:
    # idna is a text encoding whose decoder raises UnicodeError (not UnicodeDecodeError).
    body = b"xn--ab- " + TEXT.encode()
    page = to_page(Download("http://x.example/t", "text/plain", "idna", body), max_chars=LIMIT)
    assert page.text.endswith(TEXT)


@pytest.mark.parametrize("depth", [2_000, 200_000])
def test_deeply_nested_json_is_shown_as_text(depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    page = to_page(
        Download("http://x.example/d.json", "application/json", None, body), max_chars=LIMIT
    )
    assert page.text.endswith(body.decode())


def test_json_whose_indented_form_explodes_is_shown_as_text() -> None:
    # Each 1.8 kB element indents into about 1.6 MB: 100 of them would be 160 MB of text.
    nested = "[" * 900 + "]" * 900
    body = f"[{','.join([nested] * 100)}]".encode()
    page = to_page(
        Download("http://x.example/d.json", "application/json", None, body), max_chars=LIMIT
    )
    assert len(page.text) < 2 * len(body)
    assert page.text.endswith("]]]]")


def test_json_is_still_indented() -> None:
    page = to_page(
        Download("http://x.example/d.json", "application/json", None, b'{"a": [1]}'),
        max_chars=LIMIT,
    )
    assert page.text.endswith('{\n  "a": [\n    1\n  ]\n}')


def test_a_deeply_nested_pdf_is_a_clear_error() -> None:
    depth = 5_000
    contents = b"BT /F1 12 Tf " + b"[" * depth + b"]" * depth + b" TJ ET"
    with pytest.raises(OpenError, match="nested too deeply"):
        to_page(
            Download("http://x.example/d.pdf", "application/pdf", None, one_page_pdf(contents)),
            max_chars=LIMIT,
        )


def test_a_long_word_wraps_like_textwrap() -> None:
    assert wrap_lines("ab " + "x" * 1000) == ["ab " + "x" * 77, *["x" * 80] * 11, "x" * 43]


_WORDS = st.text(alphabet="ab -\t", max_size=12) | st.text(
    alphabet="ab-", min_size=70, max_size=400
)


@given(st.lists(_WORDS, max_size=30).map(" ".join), st.integers(min_value=5, max_value=90))
def test_wrapping_matches_textwrap(line: str, width: int) -> None:
    expected = textwrap.wrap(line, width=width, replace_whitespace=False, drop_whitespace=False)
    assert wrap_lines(line, width) == (expected or [""])


def test_a_huge_title_does_not_flood_every_view() -> None:
    html = f"<html><head><title>{'Buy now! ' * 50_000}</title></head><body>hi</body></html>"
    page = to_page(Download("http://x.example/", "text/html", None, html.encode()), max_chars=LIMIT)
    view = render_view(
        page, 0, loc=0, num_lines=-1, view_tokens=1024, max_view_tokens=8192, count_tokens=len
    )
    header = view.text.split("\n", 1)[0]
    assert header.startswith("[0] Buy now! Buy now!")
    assert len(header) < 400


def test_tabs_that_wrap_into_more_than_the_limit_are_refused() -> None:
    tabs = b"\t" * 100_000  # 100 kB of text, 800 kB of lines
    page = to_page(Download("http://x.example/t", "text/plain", None, tabs), max_chars=1_000_000)
    assert len(page.lines) == 2 + 10_000  # the URL header, then the tabs
    with pytest.raises(OpenError, match="its text is longer than 200000 characters"):
        to_page(Download("http://x.example/t", "text/plain", None, tabs), max_chars=200_000)


@pytest.mark.parametrize(
    ("media_type", "charset", "body"),
    [
        ("application/json", None, b'["before \\ud800 after"]'),
        ("text/plain", "unicode_escape", b"before \\udfff after"),
    ],
    ids=["json-escape", "unicode-escape-charset"],
)
def test_lone_surrogates_become_replacement_characters(
    media_type: str, charset: str | None, body: bytes
) -> None:
    # A lone surrogate cannot be encoded: it crashed the conversion worker's answer.
    page = to_page(Download("http://x.example/d", media_type, charset, body), max_chars=LIMIT)
    assert "before \ufffd after" in page.text
    page.text.encode("utf-8")
