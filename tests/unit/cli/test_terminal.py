"""`printable` and `printable_json`: no control character but newline and tab gets through."""

from __future__ import annotations

import json

from harmony_agent.cli._terminal import printable, printable_json

CONTROLS = "".join(map(chr, [*range(0x20), 0x7F, *range(0x80, 0xA0)]))


def test_every_control_character_but_newline_and_tab_is_shown_instead() -> None:
    shown = printable(CONTROLS)
    assert {c for c in shown if c in CONTROLS} == {"\t", "\n"}
    assert printable("a\x1b]52;c;eA==\x07b") == "a␛]52;c;eA==␇b"
    assert printable("\x9b2J\x7f") == "\\x9b2J␡"
    assert printable("line\r\nnext\rover") == "line\nnext␍over"


def test_json_lines_escape_every_control_character_and_keep_other_text() -> None:
    value = {"text": f"café {CONTROLS} 日本"}
    line = printable_json(value)
    assert not [c for c in line if c in CONTROLS]
    assert json.loads(line) == value and "café" in line and "日本" in line
