"""Output collection: the size budget, colour codes, images, and sorting of iopub messages."""

from __future__ import annotations

import base64
from pathlib import Path

from harmony_agent.sandbox._output import BoundedText, ImageFiles, OutputCollector, strip_ansi


def test_bounded_text_keeps_short_text_whole() -> None:
    text = BoundedText(100)
    text.add("hello ")
    text.add("world")
    assert (text.text(), text.cut) == ("hello world", 0)


def test_bounded_text_keeps_head_and_tail_and_counts_the_cut() -> None:
    text = BoundedText(40)
    for i in range(100):
        text.add(f"{i:03d}\n")  # 400 characters in all
    kept = text.text()
    assert kept.startswith("000\n001\n")
    assert kept.endswith("098\n099\n")
    assert text.cut == 400 - 40
    assert "[... 360 characters cut ...]" in kept


def test_strip_ansi() -> None:
    assert strip_ansi("\x1b[0;31mZeroDivisionError\x1b[0m: x\x1b[?25h") == "ZeroDivisionError: x"


def image_files(tmp_path: Path) -> ImageFiles:
    (tmp_path / "host").mkdir()
    (tmp_path / "work").mkdir()
    return ImageFiles(host=tmp_path / "host", work=tmp_path / "work", owner=None)


def test_collector_sorts_messages(tmp_path: Path) -> None:
    png = b"\x89PNG fake"
    collector = OutputCollector(1000, image_files(tmp_path), first_image=3)
    collector.add("stream", {"name": "stdout", "text": "a\n"})
    collector.add("stream", {"name": "stderr", "text": "warn\n"})
    collector.add("display_data", {"data": {"text/plain": "<table>"}})
    collector.add("display_data", {"data": {"image/png": base64.b64encode(png).decode()}})
    collector.add("execute_result", {"data": {"text/plain": "\x1b[1m42\x1b[0m"}})
    collector.add("status", {"execution_state": "busy"})
    assert collector.stdout.text() == "a\n<table>\n"
    assert collector.stderr.text() == "warn\n"
    assert collector.result is not None and collector.result.text() == "42"
    assert collector.images == [tmp_path / "host" / "image-3.png"]
    assert (tmp_path / "host" / "image-3.png").read_bytes() == png
    assert (tmp_path / "work" / "image-3.png").read_bytes() == png
    assert collector.next_image == 4


def test_collector_takes_pages_and_skips_what_is_malformed(tmp_path: Path) -> None:
    collector = OutputCollector(1000, image_files(tmp_path), first_image=1)
    collector.add("stream", {"name": "stdout", "text": "first\n"})
    collector.add_payloads(
        {
            "payload": [
                {"source": "page", "data": {"text/plain": "\x1b[31mDocstring:\x1b[0m hi\n\n"}},
                {"source": "set_next_input", "text": "not shown"},
                {"source": "page", "data": {"text/html": "<b>no text</b>"}},
                {"source": "page", "data": ["not", "a", "mapping"]},
                {"source": "page", "data": {"text/plain": 42}},
                "not a payload",
                {"source": "page", "data": {"text/plain": "second"}},
            ]
        }
    )
    collector.add_payloads({"payload": "not a list"})
    collector.add_payloads({})
    assert collector.stdout.text() == "first\nDocstring: hi\nsecond\n"


def test_collector_error_without_traceback(tmp_path: Path) -> None:
    collector = OutputCollector(1000, image_files(tmp_path), first_image=1)
    collector.add("error", {"ename": "ValueError", "evalue": "bad", "traceback": []})
    assert collector.error is not None and collector.error.text() == "ValueError: bad"


def test_an_image_whose_name_the_code_took_is_saved_nowhere(tmp_path: Path) -> None:
    files = image_files(tmp_path)
    victim = tmp_path / "victim"
    victim.write_bytes(b"mine")
    (files.work / "image-1.png").symlink_to(victim)
    collector = OutputCollector(1000, files, first_image=1)
    collector.add("display_data", {"data": {"image/png": base64.b64encode(b"png").decode()}})
    assert collector.images == [] and victim.read_bytes() == b"mine"
    assert collector.stderr.text() == "[image image-1.png not saved: the name is taken]\n"
    assert not (files.host / "image-1.png").exists()
