"""The stand-ins the tests share: a weather tool, an agent on a script, model completions, an
engine that ignores stop tokens, hostile input.

```python
from tests.fakes import final, get_weather, make_agent

agent, engine = make_agent([final("Sunny.")])
assert agent.run("Weather in Paris?").final_text == "Sunny."
```
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncGenerator, Sequence
from typing import Literal

from harmony_agent import Agent, tool
from harmony_agent.engines import SamplingParams, ScriptedEngine, TokenChunk

DATE = "2026-11-24"
"""The current date every fake agent tells the model, so prompts are the same each day."""


@tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, object]:
    """Gets the current weather in a city.

    Args:
        city: City name, e.g. "Paris".
        unit: Temperature unit.
    """
    return {"city": city, "temperature": 20, "unit": unit}


def make_agent(
    script: Sequence[str | Sequence[int]], **settings: object
) -> tuple[Agent, ScriptedEngine]:
    """An agent that plays `script` (harmony text or token ids per completion) on a
    ScriptedEngine, with `get_weather`, a fixed date and low reasoning; `settings` are further
    (or other) `Agent` parameters.
    """
    engine = ScriptedEngine(script)
    options: dict[str, object] = {"reasoning": "low", "current_date": DATE, "tools": [get_weather]}
    options.update(settings)
    return Agent(engine=engine, **options), engine  # type: ignore[arg-type]


def final(text: str) -> str:
    """A completion that answers `text`."""
    return f"<|channel|>final<|message|>{text}<|return|>"


def python_call(code: str) -> str:
    """A completion that runs `code` in the python tool, as gpt-oss calls it while reasoning."""
    return f"<|channel|>analysis to=python code<|message|>{code}<|call|>"


class StopIgnoringEngine(ScriptedEngine):
    """A server that does not stop at stop tokens (misconfigured, or `ignore_eos`): it plays
    each completion to its end."""

    async def generate(
        self,
        prompt_tokens: Sequence[int],
        *,
        stop_token_ids: Sequence[int],
        max_tokens: int,
        sampling: SamplingParams,
    ) -> AsyncGenerator[TokenChunk, None]:
        async for chunk in super().generate(
            prompt_tokens, stop_token_ids=(), max_tokens=max_tokens, sampling=sampling
        ):
            yield chunk


def laughs(levels: int, width: int = 10) -> str:
    """A "billion laughs" YAML document: each level's anchor aliases the previous one `width`
    times, so a few hundred bytes stand for `width ** levels` values.
    """
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [
        f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]"
        for level in range(1, levels)
    ]
    return "\n".join(lines) + "\n"


def one_page_pdf(contents: bytes, *, compressed: bool = False) -> bytes:
    """A PDF whose one page draws `contents` (a content stream), deflated if `compressed`."""
    if compressed:
        contents = zlib.compress(contents, 9)
    stream = b"/Length %d /Filter /FlateDecode" if compressed else b"/Length %d"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< " + stream % len(contents) + b" >>\nstream\n" + contents + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
