"""The o200k_harmony tokenizer the tiny checkpoint ships, against harmony's own vocabulary.

vLLM loads it for structured outputs: xgrammar decides which tokens a JSON grammar allows from
the bytes each vocabulary entry stands for, so every entry must match harmony's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harmony_agent._harmony import encode_completion, token_bytes
from harmony_agent.tiny._tokenizer import FIRST_SPECIAL, VOCAB_END, harmony_tokenizer
from transformers import AutoTokenizer, PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import bytes_to_unicode

TEXTS = [
    "What's the weather in Paris?",
    "def f(x):\n    return x**2  # héllo 世界 🙂\n\n\n",
    "  12345678 tokens\t\tand   spaces \r\n",
    "I'M SHOUTING, they're QUIET'll",
    '<|start|>assistant<|channel|>final<|message|>{"city": "Paris"}<|return|>',
]


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    return harmony_tokenizer()


def test_every_entry_stands_for_harmonys_bytes(tokenizer: PreTrainedTokenizerFast) -> None:
    from_text = {char: byte for byte, char in bytes_to_unicode().items()}  # type: ignore[no-untyped-call]
    entries = tokenizer.convert_ids_to_tokens(list(range(VOCAB_END)))
    assert len(tokenizer) == VOCAB_END
    for token, entry in enumerate(entries[:FIRST_SPECIAL]):
        assert bytes(from_text[char] for char in entry) == token_bytes(token), token
    for token, entry in enumerate(entries[FIRST_SPECIAL:], start=FIRST_SPECIAL):
        assert entry.encode() == token_bytes(token), token
    assert tokenizer.eos_token_id == 200002  # <|return|>: a constrained answer may end there


def test_encodes_text_as_harmony_does(tokenizer: PreTrainedTokenizerFast) -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    for text in [*TEXTS, source]:
        assert tokenizer.encode(text, add_special_tokens=False) == encode_completion(text)
        assert tokenizer.decode(encode_completion(text)) == text


def test_saved_files_load_with_auto_tokenizer(
    tokenizer: PreTrainedTokenizerFast, tmp_path: Path
) -> None:
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded.eos_token_id == 200002
    assert [loaded.encode(t, add_special_tokens=False) for t in TEXTS] == [
        encode_completion(t) for t in TEXTS
    ]
