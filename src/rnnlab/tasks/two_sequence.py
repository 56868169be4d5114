"""The 2-sequence problem: classify a noisy sequence by its first few elements.

Hochreiter, S. and Schmidhuber, J. (1997). Long short-term memory. *Neural Computation*, 9(8),
Section 5.3 (Task 3a), after Bengio, Simard & Frasconi (1994).

One input line; two equiprobable classes. Only the first ``num_informative`` (N) elements
carry the class: each is 1.0 for class 1 and -1.0 for class 2 (LSTM97 uses N = 1 and N = 3).
Every later element is Gaussian noise with mean 0 and variance 0.2. The target, due at the
last step only, is 1.0 for class 1 and 0.0 for class 2, learned through a logistic output with
cross-entropy; a sequence counts as correct when the output is within 0.2 of the target.

Here every sequence has the same length ``seq_len`` (T). LSTM97 draws the length uniformly from
T ... T + T/10, and notes that Bengio et al. also permitted shorter sequences, of length T/2.
"""

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rnnlab.tasks.base import Split, Task, seed_field

NOISE_VARIANCE = 0.2
"""Variance of the Gaussian noise after the informative elements."""

TOLERANCE = 0.2
"""A sequence is correct when ``|output - target| < TOLERANCE`` at the last step."""


class TwoSequenceConfig(BaseModel):
    """``[task]`` of the 2-sequence problem."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["two_sequence"] = "two_sequence"
    seq_len: int = Field(100, ge=2, description="T, steps per sequence (fixed; LSTM97: T..T+T/10)")
    num_informative: int = Field(1, ge=1, description="N, leading elements that carry the class")
    num_train: int = Field(10000, ge=1, description="training sequences")
    num_val: int = Field(1000, ge=1, description="validation sequences")
    num_test: int = Field(256, ge=1, description="test sequences")
    seed: int = seed_field("seed of the data; the training seed is separate")

    @model_validator(mode="after")
    def _informative_fits(self) -> "TwoSequenceConfig":
        if self.num_informative >= self.seq_len:
            raise ValueError(
                f"num_informative ({self.num_informative}) must be less than seq_len "
                f"({self.seq_len}), so that noise follows the informative elements"
            )
        return self


def two_sequence_sequences(
    num: int, seq_len: int, num_informative: int, generator: torch.Generator
) -> Split:
    """``num`` 2-sequence-problem sequences of ``seq_len`` steps; the loss mask is the last step."""
    label = torch.randint(2, (num,), generator=generator).float()  # 1 class 1, 0 class 2
    x = torch.randn(num, seq_len, 1, generator=generator) * NOISE_VARIANCE**0.5
    x[:, :num_informative, 0] = (label * 2 - 1)[:, None]
    y = torch.zeros(num, seq_len, 1)
    y[:, -1, 0] = label
    mask = torch.zeros(num, seq_len, dtype=torch.bool)
    mask[:, -1] = True
    return Split(x=x, y=y, mask=mask)


class TwoSequence(Task):
    """The 2-sequence problem as a sequence task; see the module docstring."""

    name = "two_sequence"
    description = "Hochreiter & Schmidhuber (1997): class of a noisy sequence from its start"
    stream = False
    loss = "bce"
    input_size = 1
    output_size = 1

    def __init__(self, config: TwoSequenceConfig) -> None:
        self.config = config

    def splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.config.seed)
        c = self.config
        return {
            split: two_sequence_sequences(num, c.seq_len, c.num_informative, generator)
            for split, num in (("train", c.num_train), ("val", c.num_val), ("test", c.num_test))
        }

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """``accuracy``: the fraction of sequences whose final output is within 0.2 of target."""
        error = (predictions[:, -1, 0] - split.y[:, -1, 0]).abs()  # (N,)
        return {"accuracy": float((error < TOLERANCE).float().mean())}
