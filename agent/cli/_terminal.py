r"""Text from models, tools, the web, servers and files, made safe to print on a terminal.

A terminal acts on control characters: ESC and the 8-bit C1 controls begin sequences that set
the window title, write the clipboard (OSC 52), make hyperlinks (OSC 8), move the cursor or
recolour the screen, and a carriage return or a backspace overwrites what was printed. Every
control character but newline and tab is therefore shown instead of sent: C0 controls and DEL
as their Unicode control pictures (ESC as `␛`), C1 controls as their code (`\x9b`); a CRLF
becomes a newline. The bidirectional embeddings, overrides and isolates (U+202A-U+202E,
U+2066-U+2069), which make a terminal show text in another order than it is ("Trojan
Source"), are shown as their code point (`<U+202E>`). Nothing is removed, so the text that was
there stays visible.
"""

from __future__ import annotations

import json

from rich.text import Text

__all__ = ["error_line", "printable", "printable_json"]

_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
"""The bidirectional embeddings, overrides and isolates."""
_VISIBLE = {
    **{code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\t\n"},
    0x7F: "\u2421",
    **{code: f"\\x{code:02x}" for code in range(0x80, 0xA0)},
    **{code: f"<U+{code:04X}>" for code in _BIDI},
}
"""What each control character is shown as."""
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0), *_BIDI)}
"""The controls JSON leaves unescaped, written as JSON escapes."""


def printable(text: str) -> str:
    """`text` with every control character but newline and tab shown as a visible symbol."""
    return text.replace("\r\n", "\n").translate(_VISIBLE)


def printable_json(value: object) -> str:
    """`value` as one line of JSON with no control character in it (JSON escapes C0 controls;
    DEL, the C1 controls and the bidirectional ones are escaped too), non-ASCII text otherwise
    kept.
    """
    return json.dumps(value, ensure_ascii=False).translate(_JSON_ESCAPES)


def error_line(label: str, text: str) -> Text:
    """`label:` in bold red, then `text` as it is (never read as markup) and printable."""
    return Text.assemble((f"{label}:", "bold red"), " ", printable(text))
