"""A small web site on 127.0.0.1 for the browser tests: real HTTP, real sockets, no mocks."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

SMALL = b"""<!doctype html>
<html><head><title>Small page</title></head>
<body><h1>Small page</h1>
<p>The quick brown fox jumps over the lazy dog. See the <a href="/article.html">article</a>
or <a href="https://example.org/docs">the docs</a>.</p>
</body></html>
"""

ARTICLE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tidal power in 2024 | Energy Notes</title>
<style>body { font-family: serif; }</style><script>var tracking = "do-not-show";</script></head>
<body>
<header><nav><a href="/">Home</a> | <a href="/topics">Topics</a> | <a href="/login">Log in</a>
</nav></header>
<div class="sidebar"><h3>Popular</h3><ul><li><a href="/x">Ten gadgets you need</a></li>
<li><a href="/y">Subscribe to our newsletter</a></li></ul></div>
<main><article>
<h1>Tidal power in 2024</h1>
<p>Tidal power converts the energy of tides into electricity. Unlike wind and solar, tides are
predictable decades ahead, which makes tidal plants attractive for grid operators who need
firm capacity. The largest plant, Sihwa Lake in South Korea, has an installed capacity of
254 MW and has operated since 2011.</p>
<h2>Installed capacity by country</h2>
<p>The table below lists the main operating plants, as reported by the
<a href="https://www.example.net/tidal-report">2024 ocean energy report</a>.</p>
<table>
<tr><th>Plant</th><th>Country</th><th>Capacity (MW)</th></tr>
<tr><td>Sihwa Lake</td><td>South Korea</td><td>254</td></tr>
<tr><td>La Rance</td><td>France</td><td>240</td></tr>
<tr><td>MeyGen</td><td>United Kingdom</td><td>6</td></tr>
</table>
<h2>Estimating output</h2>
<p>A first estimate of the energy a barrage can deliver per tide uses the basin area and the
tidal range. The snippet below computes it for La Rance:</p>
<pre><code>def tidal_energy(area_m2, range_m, density=1025, g=9.81):
    return 0.5 * density * g * area_m2 * range_m ** 2
</code></pre>
<p>Real plants reach only part of this figure because turbines cannot run at every head.
Read more about <a href="/article2.html">turbine efficiency</a> on this site.</p>
</article></main>
<footer><p>Copyright 2024 Energy Notes. All rights reserved.</p>
<p><a href="/privacy">Privacy policy</a> | <a href="/cookies">Cookie settings</a></p></footer>
</body></html>
"""

BROKEN = b"""<html><head><title>Broken markup</title><body><div><p>Unclosed paragraph about
<b>bold <i>nested text that never closes
<table><tr><td>cell one<td>cell two</table></span></font>
<p>Second paragraph mentions the <a href="/small.html">small page<p>and goes on
<li>stray item</li></div></div></div></body></html></html><p>after the end
"""

CYRILLIC_TEXT = "Приливная энергия — это энергия приливов, преобразованная в электричество."
CP1251 = (
    '<html><head><meta charset="windows-1251"><title>Приливы</title></head><body>'
    f"<h1>Приливы</h1><p>{CYRILLIC_TEXT}</p></body></html>"
).encode("cp1251")
LATIN1_TEXT = "Énergie marémotrice: l'usine de la Rance produit de l'électricité."
LATIN1_PLAIN = LATIN1_TEXT.encode("latin-1")
UNDECLARED_TEXT = "Грузовик привёз сорок ящиков яблок на рынок в четверг утром."
UNDECLARED = ("<html><body><p>" + UNDECLARED_TEXT * 8 + "</p></body></html>").encode("cp1251")

JSON_DATA = {"plant": "Sihwa Lake", "capacity_mw": 254, "units": [1, 2]}


def huge_page(paragraphs: int) -> bytes:
    """A long article: numbered paragraphs, each with a marker word."""
    body = "".join(
        f"<p>Paragraph {n}: tides rise and fall twice a day; marker-{n} closes it.</p>"
        for n in range(paragraphs)
    )
    return f"<html><head><title>Huge</title></head><body><article>{body}</article></body></html>".encode()


def pdf_document(title: str, lines: list[str]) -> bytes:
    """A minimal, valid one-page PDF with Helvetica text and a title."""
    text = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td {text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (%s) >>" % title.encode(),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


_WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 15, "raw-deflate": -15}


def encoded(data: bytes | Iterable[bytes], *codings: str) -> bytes:
    """`data` compressed with each coding in turn, as `Content-Encoding: a, b` lists them
    (`raw-deflate`: deflate without the zlib wrapper, which some servers send as `deflate`).
    """
    chunks = [data] if isinstance(data, bytes) else data
    for coding in codings:
        compressor = zlib.compressobj(9, zlib.DEFLATED, _WBITS[coding])
        chunks = [b"".join(compressor.compress(chunk) for chunk in chunks) + compressor.flush()]
    return b"".join(chunks)


def zeros(megabytes: int) -> Iterable[bytes]:
    """`megabytes` MB of zero bytes, a megabyte at a time (what compression bombs inflate to)."""
    return (bytes(1 << 20) for _ in range(megabytes))


@dataclass
class Reply:
    """What a route answers. `chunks` streams the body instead of `body`: chunked, or (with
    `chunked=False`) without any length, until the connection closes. A Content-Length in
    `headers` replaces the true one.
    """

    status: int = 200
    body: bytes = b""
    content_type: str = "text/html"
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0
    chunks: Iterable[bytes] | None = None
    chunked: bool = True


class Site:
    """The routes, and what the server saw: hits per path, and the most `/concurrent/`
    requests in flight at once."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.base = ""
        self.huge = huge_page(6000)
        self.routes: dict[str, Callable[[str, dict[str, str], bytes], Reply]] = {
            "/small.html": lambda *_: Reply(body=SMALL),
            "/article.html": lambda *_: Reply(body=ARTICLE),
            "/article2.html": lambda *_: Reply(body=SMALL),
            "/broken.html": lambda *_: Reply(body=BROKEN),
            "/cp1251.html": lambda *_: Reply(body=CP1251),
            "/latin1.txt": lambda *_: Reply(
                body=LATIN1_PLAIN, content_type="text/plain; charset=iso-8859-1"
            ),
            "/undeclared.html": lambda *_: Reply(body=UNDECLARED),
            "/huge.html": lambda *_: Reply(body=self.huge),
            "/data.json": lambda *_: Reply(
                body=json.dumps(JSON_DATA).encode(), content_type="application/json"
            ),
            "/notes.txt": lambda *_: Reply(body=b"line one\nline two\n", content_type="text/plain"),
            "/report.pdf": lambda *_: Reply(
                body=pdf_document(
                    "Tidal report", ["Tidal output rose in 2024.", "La Rance: 240 MW."]
                ),
                content_type="application/pdf",
            ),
            "/image.png": lambda *_: Reply(
                body=b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, content_type="image/png"
            ),
            "/blob": lambda *_: Reply(
                body=bytes(range(256)) * 16, content_type="application/octet-stream"
            ),
            "/slow": lambda *_: Reply(body=SMALL, delay_s=2.0),
            "/redirect/one": lambda *_: self._redirect("/redirect/two"),
            "/redirect/two": lambda *_: self._redirect("/small.html"),
            "/redirect/loop": lambda *_: self._redirect("/redirect/loop"),
            "/redirect/private": lambda *_: self._redirect("http://10.0.0.1/admin"),
            "/redirect/metadata": lambda *_: self._redirect(
                "http://169.254.169.254/latest/meta-data/"
            ),
            "/redirect/mapped": lambda *_: self._redirect("http://[::ffff:127.0.0.1]/"),
            "/redirect/file": lambda *_: self._redirect("file:///etc/passwd"),
            "/searxng/search": self._searxng,
            "/broken-search/search": lambda *_: Reply(status=500, body=b"oops"),
            "/brave/search": self._brave,
            "/exa/search": self._exa,
        }
        for n in range(8):
            self.routes[f"/concurrent/{n}"] = lambda *_: Reply(body=SMALL, delay_s=0.2)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def _redirect(self, location: str) -> Reply:
        return Reply(status=302, headers=(("Location", location),))

    def _results(self) -> list[dict[str, str]]:
        return [
            {
                "url": self.url("/article.html"),
                "title": "Tidal power in 2024",
                "content": "Tidal power converts the energy of tides into electricity.",
            },
            {
                "url": self.url("/small.html"),
                "title": "Small page",
                "content": "The quick brown fox.",
            },
            {
                "url": "https://example.org/tides",
                "title": "Tides explained",
                "content": "Why tides happen.",
            },
        ]

    def _searxng(self, query: str, headers: dict[str, str], body: bytes) -> Reply:
        params = parse_qs(query)
        if params.get("format") != ["json"]:
            return Reply(status=403, body=b"format not allowed")
        data = {"query": params["q"][0], "results": self._results()}
        return Reply(body=json.dumps(data).encode(), content_type="application/json")

    def _brave(self, query: str, headers: dict[str, str], body: bytes) -> Reply:
        if headers.get("x-subscription-token") != "brave-test-key":
            return Reply(
                status=401, body=b'{"error": "unauthorized"}', content_type="application/json"
            )
        count = int(parse_qs(query)["count"][0])
        results = [
            {
                "url": r["url"],
                "title": r["title"],
                "description": f"<strong>Tidal</strong> {r['content']}",
            }
            for r in self._results()
        ][:count]
        return Reply(
            body=json.dumps({"web": {"results": results}}).encode(), content_type="application/json"
        )

    def _exa(self, query: str, headers: dict[str, str], body: bytes) -> Reply:
        if headers.get("x-api-key") != "exa-test-key":
            return Reply(status=401, body=b"{}", content_type="application/json")
        request = json.loads(body)
        results = [
            {"url": r["url"], "title": r["title"], "highlights": [r["content"]]}
            for r in self._results()
        ][: request["numResults"]]
        return Reply(
            body=json.dumps({"results": results}).encode(), content_type="application/json"
        )

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(target)
        counted = parts.path.startswith("/concurrent/")
        with self._lock:
            self.hits[parts.path] += 1
            self.requests.append((parts.path, headers))
            self.in_flight += counted
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            route = self.routes.get(parts.path)
            reply = (
                route(parts.query, headers, body)
                if route
                else Reply(status=404, body=b"<h1>Not found</h1>")
            )
            if reply.delay_s:
                time.sleep(reply.delay_s)
            return reply
        finally:
            with self._lock:
                self.in_flight -= counted


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self._serve(self.rfile.read(length))

    def _serve(self, body: bytes) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.site.handle(self.command, self.path, headers, body)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            if reply.chunks is None:
                if all(name.lower() != "content-length" for name, _ in reply.headers):
                    self.send_header("Content-Length", str(len(reply.body)))
            elif reply.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.close_connection = True
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            if reply.chunks is None:
                self.wfile.write(reply.body)
                return
            for chunk in reply.chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if reply.chunked else chunk)
            if reply.chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeouts, size limits): expected in these tests

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, site: Site) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.site = site

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class RunningSite:
    """Serves a `Site` on 127.0.0.1 from a background thread until `stop`."""

    def __init__(self) -> None:
        self.site = Site()
        self._server = _Server(self.site)
        host, port = self._server.server_address[:2]
        self.site.base = f"http://{host!s}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
