"""gpt-oss's tokenizer (o200k_harmony) as Hugging Face files, built from the vocabulary that
openai_harmony carries, offline.

The runtime itself never tokenizes with it; vLLM loads it when structured outputs (guided
decoding) are on, to compile a JSON Schema over the vocabulary. gpt-oss checkpoints ship their
own; the tiny checkpoint gets this one.
"""

from __future__ import annotations

from pathlib import Path

from harmony_agent import _harmony
from tokenizers import AddedToken, Regex, Tokenizer, decoders, pre_tokenizers, processors
from tokenizers.models import BPE
from transformers import PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import bytes_to_unicode

__all__ = ["harmony_tokenizer", "save_harmony_tokenizer"]

FIRST_SPECIAL = 199998
"""Ids below are byte-pair tokens; this one and the rest up to the vocabulary's end are special."""
VOCAB_END = 201088

# o200k_base's pre-tokenization pattern (tiktoken's), which o200k_harmony keeps
O200K_PATTERN = "|".join(
    [
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
        r"\p{N}{1,3}",
        r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
        r"\s*[\r\n]+",
        r"\s+(?!\S)",
        r"\s+",
    ]
)


def harmony_tokenizer() -> PreTrainedTokenizerFast:
    """The o200k_harmony tokenizer: byte-level BPE with the ranks of harmony's vocabulary and
    every special token at its id; `<|return|>` ends a sequence, as in gpt-oss's own.
    """
    ranks = {_harmony.token_bytes(token): token for token in range(FIRST_SPECIAL)}
    to_text = bytes_to_unicode()  # type: ignore[no-untyped-call]

    def text(piece: bytes) -> str:
        return "".join(to_text[byte] for byte in piece)

    merges: list[tuple[int, int, int]] = []
    for piece, rank in ranks.items():
        # every split into two tokens ranked below the whole, ordered as tiktoken would merge
        splits = [
            (ranks[piece[:cut]], ranks[piece[cut:]], rank)
            for cut in range(1, len(piece))
            if piece[:cut] in ranks and piece[cut:] in ranks
        ]
        merges.extend(sorted(splits))
    merges.sort(key=lambda merge: merge[2])
    pieces = {rank: text(piece) for piece, rank in ranks.items()}
    model = BPE(
        {pieces[rank]: rank for rank in range(FIRST_SPECIAL)},
        [(pieces[left], pieces[right]) for left, right, _ in merges],
        fuse_unk=False,
        ignore_merges=True,
    )
    tokenizer = Tokenizer(model)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(O200K_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    tokenizer.add_special_tokens(  # in id order: each lands on its harmony id
        [
            AddedToken(_harmony.token_bytes(token).decode(), normalized=False, special=True)
            for token in range(FIRST_SPECIAL, VOCAB_END)
        ]
    )
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        eos_token="<|return|>",
        pad_token="<|endoftext|>",
        model_max_length=131072,
    )


def save_harmony_tokenizer(directory: Path) -> None:
    """Writes the tokenizer's files (`tokenizer.json`, `tokenizer_config.json`, ...) into
    `directory`.
    """
    harmony_tokenizer().save_pretrained(directory)
