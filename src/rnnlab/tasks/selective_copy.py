"""The selective-copy task: remember the data tokens scattered among blanks, then write them
back in order when asked.

Generated as the official code of Feng et al. (2024) does (``BorealisAI/minRNNs``,
``data/selective_copy.py``; spec §6.1): a vocabulary of 16 tokens, 15 the blank (EMPTY) and 0
the query (PRED); ``num_tokens`` data tokens drawn uniformly from 1-14 are placed at sorted
random positions of a ``seq_len``-step sequence of blanks, then ``num_tokens`` queries are
appended. The targets are the data tokens in order, one at each query: the sequence has
``seq_len + num_tokens`` steps and the loss (a cross-entropy) covers the queries only
(``Split.mask``). Inputs are one-hot (16 features).

A memoryless network can only guess one of the 14 data tokens at each query: token accuracy
1/14 ≈ 0.071. The spec's checks (§6.3.6, our thresholds, SECONDARY): at ``seq_len`` 256 and 16
tokens, a 3-layer minGRU of 64 units reaches >= 0.95 token accuracy, one layer stays <= 0.6.

Feng, L., Tung, F., Ahmed, M. O., Bengio, Y. and Hajimirsadeghi, H. (2024). Were RNNs all we
needed? arXiv:2410.01201. The task is Gu & Dao's (2023) selective copying (Mamba).
"""

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rnnlab.tasks.base import Split, Task, seed_field

VOCABULARY = 16
"""Tokens: 0 the query (PRED), 1-14 data, 15 the blank (EMPTY)."""
PRED = 0
EMPTY = 15
DATA_TOKENS = 14
"""Data tokens 1-14."""


class SelectiveCopyConfig(BaseModel):
    """``[task]`` of the selective-copy task."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["selective_copy"] = "selective_copy"
    seq_len: int = Field(256, ge=1, description="steps holding the data tokens among blanks")
    num_tokens: int = Field(16, ge=1, description="data tokens to remember and recall")
    num_train: int = Field(10000, ge=1, description="training sequences")
    num_val: int = Field(1000, ge=1, description="validation sequences")
    num_test: int = Field(1000, ge=1, description="test sequences")
    seed: int = seed_field("seed of the data; the training seed is separate")

    @model_validator(mode="after")
    def _tokens_fit(self) -> "SelectiveCopyConfig":
        if self.num_tokens > self.seq_len:
            raise ValueError(
                f"num_tokens must be <= seq_len (one position each); got num_tokens = "
                f"{self.num_tokens} and seq_len = {self.seq_len}"
            )
        return self


def selective_copy_sequences(
    num: int, seq_len: int, num_tokens: int, generator: torch.Generator
) -> Split:
    """``num`` sequences of ``seq_len + num_tokens`` steps, as the official generator makes
    them: one-hot inputs (N, T, 16), targets (N, T) (the data tokens at the queries, the
    blank elsewhere) and the mask (N, T) of the queries."""
    tokens = torch.randint(1, DATA_TOKENS + 1, (num, num_tokens), generator=generator)
    # Sorted random positions: the first num_tokens of a random permutation of the steps.
    order = torch.rand(num, seq_len, generator=generator).argsort(dim=1)
    positions = order[:, :num_tokens].sort(dim=1).values  # (N, num_tokens)
    symbols = torch.full((num, seq_len + num_tokens), EMPTY, dtype=torch.long)
    symbols.scatter_(1, positions, tokens)
    symbols[:, seq_len:] = PRED
    y = torch.full_like(symbols, EMPTY)
    y[:, seq_len:] = tokens
    mask = torch.zeros_like(symbols, dtype=torch.bool)
    mask[:, seq_len:] = True
    return Split(x=F.one_hot(symbols, VOCABULARY).float(), y=y, mask=mask)


class SelectiveCopy(Task):
    """The selective-copy task as a sequence task; see the module docstring."""

    name = "selective_copy"
    description = "Feng et al. (2024): recall the data tokens scattered among blanks, in order"
    stream = False
    loss = "cross_entropy"
    input_size = VOCABULARY
    output_size = VOCABULARY

    def __init__(self, config: SelectiveCopyConfig) -> None:
        self.config = config

    def splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.config.seed)
        c = self.config
        return {
            split: selective_copy_sequences(num, c.seq_len, c.num_tokens, generator)
            for split, num in (("train", c.num_train), ("val", c.num_val), ("test", c.num_test))
        }

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """``token_accuracy``: the fraction of recalled tokens (at the queries) whose most
        probable class is right; ``sequence_accuracy``: of sequences recalled entirely."""
        recalled = predictions[split.mask].view(split.x.shape[0], -1, predictions.shape[-1])
        correct = recalled.argmax(dim=-1) == split.y[split.mask].view(split.x.shape[0], -1)
        return {
            "token_accuracy": float(correct.float().mean()),
            "sequence_accuracy": float(correct.all(dim=1).float().mean()),
        }
