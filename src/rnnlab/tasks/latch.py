"""The latching problem: keep the class of the first input through a stretch of noise.

Bengio, Y., Simard, P. and Frasconi, P. (1994). Learning long-term dependencies with gradient
descent is difficult. *IEEE Transactions on Neural Networks*, 5(2), 157-166; as restated by
Hochreiter, Bengio, Frasconi & Schmidhuber (2001) and "Random guessing" (RG01).

Two equiprobable classes of sequences of ``seq_len`` (T) steps, one input each. The class is
carried by the first input only: 1.0 for class 1, -1.0 for class 2. Every later input is
Gaussian noise with mean 0 and variance 0.2 (standard deviation sqrt(0.2)). The target, due at
the last step only, is +0.8 for class 1 and -0.8 for class 2; the loss is the squared error of
the linear output there. A sequence counts as correct when its final output is within 0.4 of
the target, i.e. on the right side of 0.

In Bengio et al.'s "variant I" the first input is not data but a trainable parameter of the
model, one per class, and the only recurrent parameter is the self-weight of a tanh unit; an
experiment implements that. This task gives the fixed form, first input ±1 ("variant II" of
RG01 also uses fixed ±1 inputs, with targets ±1).
"""

import math
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.tasks.base import Split, Task, seed_field

NOISE_VARIANCE = 0.2
"""Variance of the Gaussian noise after the first input."""

TARGET = 0.8
"""The target is +TARGET for class 1 and -TARGET for class 2."""

TOLERANCE = 0.4
"""A sequence is correct when ``|output - target| < TOLERANCE`` at the last step."""


class LatchConfig(BaseModel):
    """``[task]`` of the latching problem."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["latch"] = "latch"
    seq_len: int = Field(50, ge=2, description="T, steps per sequence")
    num_train: int = Field(10000, ge=1, description="training sequences")
    num_val: int = Field(1000, ge=1, description="validation sequences")
    num_test: int = Field(256, ge=1, description="test sequences")
    seed: int = seed_field("seed of the data; the training seed is separate")


def latch_sequences(num: int, seq_len: int, generator: torch.Generator) -> Split:
    """``num`` latching sequences of ``seq_len`` steps; the loss mask is the last step."""
    sign = torch.randint(2, (num,), generator=generator).float() * 2 - 1  # +1 class 1, -1 class 2
    x = torch.randn(num, seq_len, 1, generator=generator) * math.sqrt(NOISE_VARIANCE)
    x[:, 0, 0] = sign
    y = torch.zeros(num, seq_len, 1)
    y[:, -1, 0] = TARGET * sign
    mask = torch.zeros(num, seq_len, dtype=torch.bool)
    mask[:, -1] = True
    return Split(x=x, y=y, mask=mask)


class Latch(Task):
    """The latching problem as a sequence task; see the module docstring."""

    name = "latch"
    description = "Bengio et al. (1994): latch the class of the first input through noise"
    stream = False
    loss = "mse"
    input_size = 1
    output_size = 1

    def __init__(self, config: LatchConfig) -> None:
        self.config = config

    def splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.config.seed)
        c = self.config
        return {
            split: latch_sequences(num, c.seq_len, generator)
            for split, num in (("train", c.num_train), ("val", c.num_val), ("test", c.num_test))
        }

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """``accuracy``: the fraction of sequences whose final output is within 0.4 of target."""
        error = (predictions[:, -1, 0] - split.y[:, -1, 0]).abs()  # (N,)
        return {"accuracy": float((error < TOLERANCE).float().mean())}
