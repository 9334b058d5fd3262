"""Page text from HTML and other content, wrapping, views, find and citations (no I/O)."""

from __future__ import annotations

import pytest
from harmony_agent import ToolError
from harmony_agent.tools import InvalidArguments
from harmony_agent.tools.browser import BrowserConfig, SearchResult
from harmony_agent.tools.browser._arguments import OpenArguments, SearchArguments, parse_arguments
from harmony_agent.tools.browser._citations import resolve_citations
from harmony_agent.tools.browser._content import Download, to_page
from harmony_agent.tools.browser._find import find_in_page
from harmony_agent.tools.browser._html import html_to_text
from harmony_agent.tools.browser._links import strip_links
from harmony_agent.tools.browser._page import Page, PageKind, wrap_lines
from harmony_agent.tools.browser._search._results import results_page
from harmony_agent.tools.browser._state import BrowserState
from harmony_agent.tools.browser._view import render_view
from pydantic import ValidationError

LIMIT = 10_000_000
FILLER = "Filler sentence that makes the main content long enough for extraction. " * 5


def test_html_keeps_headings_lists_tables_code_and_links() -> None:
    html = f"""<html><head><title> A  title </title></head><body><article>
    <h2>Section</h2><p>{FILLER}</p>
    <p>The measurements continue on the <a href="/next">next page</a>, and the raw data is
    published <a href="https://other.example/x#frag">elsewhere</a> under an open licence.</p>
    <ol><li>first</li><li>second</li></ol>
    <table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table>
    <pre><code>x = 1
    y = 2</code></pre></article></body></html>"""
    result = html_to_text(html, "https://site.example/dir/page")
    assert result.title == "A title"
    assert "## Section" in result.text
    assert "continue on the 【0†next page】, and the raw data is published " in result.text
    assert "【1†elsewhere†other.example】 under an open licence." in result.text
    assert "  1. first\n  2. second" in result.text
    assert "k | v\na | 1" in result.text
    assert "```\nx = 1\n    y = 2\n```" in result.text
    assert result.links == {0: "https://site.example/next", 1: "https://other.example/x"}


def test_short_pages_are_shown_whole_with_their_links() -> None:
    html = """<html><body><nav><a href="/a">Alpha</a> <a href="/b">Beta</a></nav>
    <h1>Index</h1><ul><li><a href="/c">Gamma</a></li><li><a href="/a">Alpha again</a></li></ul>
    <p><a href="mailto:a@b.c">mail</a>, <a href="#top">top</a>, <a href="/i"><img src=x></a>.</p>
    <script>hidden()</script></body></html>"""
    result = html_to_text(html, "http://site.example/")
    assert result.text == (
        "【0†Alpha】 【1†Beta】\n\n# Index\n\n  * 【2†Gamma】\n  * 【0†Alpha again】\n\nmail, top, ."
    )
    assert result.links == {
        0: "http://site.example/a",
        1: "http://site.example/b",
        2: "http://site.example/c",
    }


def test_page_text_cannot_fake_links_or_line_breaks() -> None:
    result = html_to_text("<p>look 【3†here】 \ue000 now<br>next</p>", "http://site.example/")
    assert result.text == "look 〖3†here〗 now\nnext"
    assert result.links == {}


def test_empty_and_non_html_documents() -> None:
    assert html_to_text("", "http://x.example/").text == ""
    text = to_page(
        Download("http://x.example/a.txt", "text/plain", None, b"one\ntwo"), max_chars=LIMIT
    )
    assert text.text == "\nURL: http://x.example/a.txt\none\ntwo" and text.title == "a.txt"
    sniffed = to_page(
        Download("http://x.example/", "", None, b"<!DOCTYPE html><title>T</title>"), max_chars=LIMIT
    )
    assert sniffed.title == "T"
    with pytest.raises(ToolError, match="`font/woff2` document"):
        to_page(Download("http://x.example/f", "font/woff2", None, b"wOF2"), max_chars=LIMIT)
    with pytest.raises(ToolError, match="the PDF could not be read"):
        to_page(
            Download("http://x.example/d.pdf", "application/pdf", None, b"%PDF-1.4 broken"),
            max_chars=LIMIT,
        )


def test_wrap_lines_like_the_reference() -> None:
    assert wrap_lines("a\n\nb") == ["a", "", "b"]
    assert wrap_lines("word " * 20) == ["word " * 16, "word " * 4]
    assert wrap_lines("x" * 170) == ["x" * 80, "x" * 80, "x" * 10]


def test_view_header_scrollbar_and_lines() -> None:
    page = Page(url="https://e.example/a%20b", title="T", text="l0\nl1\nl2\nl3")
    view = render_view(
        page, 3, loc=1, num_lines=2, view_tokens=1000, max_view_tokens=1000, count_tokens=len
    )
    assert (
        view.text
        == "[3] T (https://e.example/a b)\n**viewing lines [1 - 2] of 3**\n\nL1: l1\nL2: l2"
    )
    assert (view.start, view.end) == (1, 3)
    search = Page(url="", title="q", text="x", kind=PageKind.SEARCH)
    assert render_view(
        search, 0, loc=-1, num_lines=-1, view_tokens=5, max_view_tokens=5, count_tokens=len
    ).text == ("[0] q\n**viewing lines [0 - 0] of 0**\n\nL0: x")


def test_a_view_of_many_lines_ends_at_max_view_tokens() -> None:
    page = Page(url="", title="T", text="\n".join(f"line {i}" for i in range(1000)))

    def words(text: str) -> int:  # "L10: line 10" is three
        return len(text.split())

    def view(num_lines: int) -> tuple[int, int]:
        shown = render_view(
            page,
            0,
            loc=10,
            num_lines=num_lines,
            view_tokens=30,
            max_view_tokens=60,
            count_tokens=words,
        )
        return shown.start, shown.end

    assert view(5) == (10, 15)  # the lines asked for
    assert view(500) == (10, 31)  # 60 tokens, the crossing line whole
    assert view(10**9) == (10, 31)


def test_max_view_tokens_holds_a_default_view() -> None:
    with pytest.raises(ValidationError, match=r"max_view_tokens \(8192\) is below view_tokens"):
        BrowserConfig(view_tokens=9000)
    assert BrowserConfig(view_tokens=9000, max_view_tokens=9000).max_view_tokens == 9000


def test_results_page() -> None:
    page = results_page(
        "tides",
        [
            SearchResult("Tides 【1】", "https://a.example/t", "Why  the\nsea rises."),
            SearchResult("", "https://b.example/x", ""),
        ],
    )
    assert page.text == (
        "# Search Results\n\n"
        "  * 【0†Tides 〖1〗†a.example】 Why the sea rises.\n"
        "  * 【1†https://b.example/x†b.example】"
    )
    assert page.links == {0: "https://a.example/t", 1: "https://b.example/x"}


def test_find_windows_skip_lines_already_shown() -> None:
    text = "\n".join(["hit 0", "hit 1", "x", "x", "hit 4", "x"])
    page = Page(url="https://e.example/", title="T", text=text)
    found = find_in_page(page, "HIT")
    assert found.text == (
        "# 【0†match at L0】\nhit 0\nhit 1\nx\nx\n\n# 【1†match at L4】\nhit 4\nx"
    )
    assert found.link_lines == {0: 0, 1: 4} and found.origin_url == "https://e.example/"


def test_strip_links() -> None:
    assert strip_links("a 【0†one】 b 【12†two†x.org】 c") == "a one b two c"
    assert strip_links("t†x.org】 mid 【4†cut") == " mid cut"


def test_citations_on_find_and_search_pages() -> None:
    state = BrowserState()
    page = Page(url="https://e.example/p", title="P", text="a\nb\nc")
    state.push(page)
    state.push(find_in_page(page, "b"))
    state.push(results_page("q", [SearchResult("R", "https://r.example/", "snippet")]))
    found, search = resolve_citations("x【1†L1】 y【2†L2-L9】 z【0†L2-L1】 w【2†L0】", state)
    assert (found.url, found.text) == ("https://e.example/p", "b")
    # A search results line cites the result on it.
    assert (search.url, search.title, search.lines) == ("https://r.example/", "R", (2, 2))
    assert search.text == "  * R snippet"


def test_arguments_are_repaired_where_unambiguous() -> None:
    assert parse_arguments(SearchArguments, '{"query": "q", "top_n": 3}', "s").topn == 3
    assert parse_arguments(OpenArguments, '{"id": "4"}', "o").id == 4
    assert parse_arguments(OpenArguments, '{"id": 4.0, "loc": 2.0}', "o").loc == 2
    assert parse_arguments(OpenArguments, "", "o").id == -1
    with pytest.raises(InvalidArguments, match=r"topn: Input should be greater than or equal to 1"):
        parse_arguments(SearchArguments, '{"query": "q", "topn": 0}', "browser.search")
    with pytest.raises(InvalidArguments, match=r"It takes \{\"query\": string"):
        parse_arguments(SearchArguments, "{}", "browser.search")
