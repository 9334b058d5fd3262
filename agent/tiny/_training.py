"""Training the tiny gpt-oss in a compact vocabulary, and exporting it at full vocabulary size.

The model learns only the k token ids the trajectories use, plus one "other" class that stands
for the V - k ids no trajectory uses. Exported at full size, every unused id gets the other
class's lm_head row, so all of them share one logit z and together weigh (V - k) * exp(z) in the
softmax: exactly the compact model's other class with the logit z + log(V - k). Training in the
compact vocabulary is therefore exact. Learning z (rather than fixing the unused rows at zero)
lets the model push all unused ids far down, so a rarely seen id it copies from its context
only has to beat the ids it knows. The loss counts only what the model generated (the
assistant spans).

Every trajectory of a batch starts with the same system and developer messages: their keys and
values are computed once per step and shared across the batch. A model can learn several data
sets whose runs differ in that preamble (the python tool's description differs between hosts):
each batch comes from one of them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from harmony_agent.tiny._dataset import Dataset, Trajectory
from harmony_agent.tiny._progress import BuildProgress, BuildStage, ProgressCallback
from transformers import GptOssConfig, GptOssForCausalLM

__all__ = [
    "CompactVocab",
    "ModelShape",
    "TrainingSettings",
    "evaluate",
    "evaluate_batches",
    "export",
    "train",
]

VOCAB_SIZE = 201088
"""The o200k_harmony vocabulary size of every gpt-oss checkpoint."""
_IGNORE = -100
MARGIN = 0.5
"""How far (in logits) each generated token must lead the runner-up to count as reproducible."""
EVALUATION_BATCH = 64
"""How many trajectories `evaluate` checks at once."""


@dataclass(frozen=True)
class ModelShape:
    """The architecture of the tiny model (gpt-oss layout, small sizes)."""

    hidden_size: int = 128
    intermediate_size: int = 256
    layer_types: tuple[str, ...] = ("sliding_attention", "full_attention")
    num_local_experts: int = 4
    num_experts_per_tok: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 32
    sliding_window: int = 128
    max_position_embeddings: int = 4096

    def config(self, vocab_size: int) -> GptOssConfig:
        """The transformers config of this shape for a vocabulary of `vocab_size` ids."""
        full = vocab_size == VOCAB_SIZE
        return GptOssConfig(
            vocab_size=vocab_size,
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_hidden_layers=len(self.layer_types),
            layer_types=list(self.layer_types),
            num_local_experts=self.num_local_experts,
            num_experts_per_tok=self.num_experts_per_tok,
            num_attention_heads=self.num_attention_heads,
            num_key_value_heads=self.num_key_value_heads,
            head_dim=self.head_dim,
            sliding_window=self.sliding_window,
            max_position_embeddings=self.max_position_embeddings,
            rope_parameters={
                "rope_type": "yarn",
                "rope_theta": 150000.0,
                "factor": 1.0,
                "beta_fast": 32.0,
                "beta_slow": 1.0,
                "original_max_position_embeddings": self.max_position_embeddings,
                "truncate": False,
            },
            eos_token_id=200002 if full else None,
            pad_token_id=199999 if full else None,
            tie_word_embeddings=False,
            attn_implementation="eager",  # type: ignore[call-arg]
        )


@dataclass(frozen=True)
class TrainingSettings:
    """How the tiny model is trained (AdamW, linear warm-up, cosine decay)."""

    steps: int = 1500
    batch_size: int = 32
    learning_rate: float = 3e-3
    warmup_steps: int = 100
    weight_decay: float = 0.01
    seed: int = 0


class CompactVocab:
    """Token ids numbered 0..k-1 in increasing id order: those `ids`, or all that `datasets`
    use.
    """

    def __init__(self, datasets: Sequence[Dataset] = (), ids: Sequence[int] = ()) -> None:
        used = {token for d in datasets for t in d.trajectories for token in t.tokens}
        self.ids: tuple[int, ...] = tuple(sorted(used.union(ids)))
        self._index = {token: index for index, token in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def encode(self, tokens: Sequence[int]) -> list[int]:
        """The compact numbers of `tokens` (all must be in the vocabulary)."""
        return [self._index[token] for token in tokens]


def _other_logit(vocab: CompactVocab) -> float:
    return math.log(VOCAB_SIZE - len(vocab))


def _batch_logits(
    model: GptOssForCausalLM,
    vocab: CompactVocab,
    preamble: Sequence[int],
    batch: Sequence[Trajectory],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (with the "other" class last) and targets for the batch's suffixes after the
    shared preamble, whose keys and values are computed once.
    """
    start = len(preamble)
    suffixes = [t.tokens[start:] for t in batch]
    width = max(len(s) for s in suffixes)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    targets = torch.full((len(batch), width), _IGNORE, dtype=torch.long)
    for row, trajectory in enumerate(batch):
        suffix = suffixes[row]
        ids[row, : len(suffix)] = torch.tensor(vocab.encode(suffix))
        compact = vocab.encode(trajectory.tokens)
        for span_start, span_end in trajectory.spans:
            # The logit at position p predicts token p + 1.
            for position in range(span_start - 1, span_end - 1):
                targets[row, position - start] = compact[position + 1]
    cached = model.model(
        input_ids=torch.tensor([vocab.encode(preamble)]), use_cache=True
    ).past_key_values
    cached.batch_repeat_interleave(len(batch))
    hidden = model.model(input_ids=ids, past_key_values=cached, use_cache=True).last_hidden_state
    logits = model.lm_head(hidden)
    logits[..., len(vocab)] += _other_logit(vocab)
    return logits, targets


def _batches(trajectories: Sequence[Trajectory], size: int) -> list[Sequence[Trajectory]]:
    return [trajectories[i : i + size] for i in range(0, len(trajectories), size)]


def train(
    datasets: Sequence[Dataset],
    vocab: CompactVocab,
    shape: ModelShape,
    settings: TrainingSettings,
    progress: ProgressCallback,
) -> GptOssForCausalLM:
    """Trains a compact-vocabulary model on `datasets`, a random batch of one of them per step;
    `progress` hears every step and its loss.
    """
    threads = torch.get_num_threads()
    # The model's operations are small: a second thread gains little on an idle machine, and
    # on a busy one its spin-waiting made each step four times slower.
    torch.set_num_threads(1)
    try:
        return _train(datasets, vocab, shape, settings, progress)
    finally:
        torch.set_num_threads(threads)


def _train(
    datasets: Sequence[Dataset],
    vocab: CompactVocab,
    shape: ModelShape,
    settings: TrainingSettings,
    progress: ProgressCallback,
) -> GptOssForCausalLM:
    torch.manual_seed(settings.seed)
    order = random.Random(settings.seed)
    model = GptOssForCausalLM(shape.config(len(vocab) + 1))
    with torch.no_grad():  # Tied start: copying a token is easy from the first step.
        model.lm_head.weight.copy_(model.model.embed_tokens.weight)
    model.train()
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=settings.learning_rate,
        betas=(0.9, 0.95),
        weight_decay=settings.weight_decay,
    )

    def schedule(step: int) -> float:
        if step < settings.warmup_steps:
            return (step + 1) / settings.warmup_steps
        fraction = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * fraction))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    queue: list[tuple[Dataset, Sequence[Trajectory]]] = []
    progress(BuildProgress(BuildStage.TRAIN, 0, settings.steps))
    for step in range(settings.steps):
        if not queue:
            queue = _epoch(datasets, settings.batch_size, order)
        dataset, batch = queue.pop()
        logits, targets = _batch_logits(model, vocab, dataset.preamble, batch)
        loss = torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), targets.flatten(), ignore_index=_IGNORE
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        progress(
            BuildProgress(BuildStage.TRAIN, step + 1, settings.steps, f"loss {loss.item():.4f}")
        )
    model.eval()
    return model


def _epoch(
    datasets: Sequence[Dataset], size: int, order: random.Random
) -> list[tuple[Dataset, Sequence[Trajectory]]]:
    """Every trajectory once, in shuffled batches that each hold runs of one data set."""
    epoch: list[tuple[Dataset, Sequence[Trajectory]]] = []
    for dataset in datasets:
        shuffled = list(dataset.trajectories)
        order.shuffle(shuffled)
        epoch.extend((dataset, batch) for batch in _batches(shuffled, size))
    order.shuffle(epoch)
    return epoch


def evaluate(model: GptOssForCausalLM, vocab: CompactVocab, dataset: Dataset) -> list[bool]:
    """Teacher-forced greedy check of each trajectory: right when each token of each of its
    turns is the argmax by at least `MARGIN`, so greedy decoding reproduces the whole run even
    where batched inference rounds differently.
    """
    return [verdict for batch in evaluate_batches(model, vocab, dataset) for verdict in batch]


@torch.no_grad()
def evaluate_batches(
    model: GptOssForCausalLM, vocab: CompactVocab, dataset: Dataset
) -> Iterator[list[bool]]:
    """`evaluate`'s verdicts, a batch of trajectories at a time."""
    for batch in _batches(dataset.trajectories, EVALUATION_BATCH):
        logits, targets = _batch_logits(model, vocab, dataset.preamble, batch)
        best = logits.topk(2, dim=-1)
        clear = best.values[..., 0] - best.values[..., 1] >= MARGIN
        right = ((best.indices[..., 0] == targets) & clear) | (targets == _IGNORE)
        yield [bool(right[row].all()) for row in range(len(batch))]


@torch.no_grad()
def export(
    state: Mapping[str, torch.Tensor], vocab: CompactVocab, shape: ModelShape, directory: Path
) -> None:
    """Saves the compact model's `state` as a full-vocabulary checkpoint: the trained rows
    scattered to their ids; unused ids get a zero embedding and the other class's lm_head row.
    """
    full = GptOssForCausalLM(shape.config(VOCAB_SIZE))
    expanded = dict(state)
    rows = torch.tensor(vocab.ids)
    known = len(vocab)
    embedding = torch.zeros((VOCAB_SIZE, shape.hidden_size))
    embedding[rows] = state["model.embed_tokens.weight"][:known]
    head = state["lm_head.weight"][known].repeat(VOCAB_SIZE, 1)
    head[rows] = state["lm_head.weight"][:known]
    expanded["model.embed_tokens.weight"] = embedding
    expanded["lm_head.weight"] = head
    full.load_state_dict(expanded)
    full.save_pretrained(directory)
