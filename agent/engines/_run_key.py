"""The key that sends every request of one run to the same replica.

A replica keeps the prompts it served in its prefix cache, so a run's later turns are cheap
only where its earlier turns ran. The engine interface carries tokens and nothing else, so the
key comes from the prompt itself: its tokens up to and including the end of the first user
message. Every turn of a run repeats that prefix verbatim (the transcript is token-exact and
pruning only drops analysis after it), while different tasks differ in it (or in the system
and developer messages before it). The same key therefore covers a chat, a batch task and a
server conversation that replays its whole history on every request, which carries no run id
at all; an explicit run id would have to travel through every engine's `generate` (in-process
vLLM, scripted and recording engines alike) for the one engine that routes, and would still
not tie together the requests of one conversation sent to the server. Two runs with the same
first user message (samples of one task) share a key, and that is right too: they share that
prefix in the cache. A prompt without a complete user message is keyed by all of its tokens.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from array import array
from collections.abc import Sequence

from harmony_agent._harmony import SpecialToken, encode_text

__all__ = ["run_key"]


@functools.cache
def _user_header() -> tuple[int, ...]:
    """`<|start|>user`: how a user message begins."""
    return (SpecialToken.START.value, *encode_text("user"))


def run_key(prompt_tokens: Sequence[int]) -> bytes:
    """A digest of `prompt_tokens` through the end of the first user message."""
    start_token, *role = _user_header()
    end = len(prompt_tokens)
    with contextlib.suppress(ValueError):  # no complete user message: all of the prompt
        start = prompt_tokens.index(start_token)
        while list(prompt_tokens[start + 1 : start + 1 + len(role)]) != role:
            start = prompt_tokens.index(start_token, start + 1)
        end = prompt_tokens.index(SpecialToken.END.value, start + 1) + 1
    digest = hashlib.blake2b(array("Q", prompt_tokens[:end]).tobytes(), digest_size=16)
    return digest.digest()
