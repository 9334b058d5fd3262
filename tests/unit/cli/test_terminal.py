"""`printable` and `printable_json`: no control character but newline and tab gets through."""

from __future__ import annotations

import json

from harmony_agent.cli._terminal import printable, printable_json

BIDI = "".join(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
CONTROLS = "".join(map(chr, [*range(0x20), 0x7F, *range(0x80, 0xA0)])) + BIDI


def test_every_control_character_but_newline_and_tab_is_shown_instead() -> None:
    shown = printable(CONTROLS)
    assert {c for c in shown if c in CONTROLS} == {"\t", "\n"}
    assert printable("a\x1b]52;c;eA==\x07b") == "a␛]52;c;eA==␇b"
    assert printable("\x9b2J\x7f") == "\\x9b2J␡"
    assert printable("line\r\nnext\rover") == "line\nnext␍over"
    # Trojan Source: a terminal shows the string's end as if it were a comment
    trojan = 'access_level = "user\u202e \u2066// admin\u2069 \u2066"'
    assert printable(trojan) == 'access_level = "user<U+202E> <U+2066>// admin<U+2069> <U+2066>"'
    assert printable("\u200f\u05d0 شكرا") == "\u200f\u05d0 شكرا"  # marks and RTL text stay


def test_json_lines_escape_every_control_character_and_keep_other_text() -> None:
    value = {"text": f"café {CONTROLS} 日本"}
    line = printable_json(value)
    assert not [c for c in line if c in CONTROLS]
    assert json.loads(line) == value and "café" in line and "日本" in line
