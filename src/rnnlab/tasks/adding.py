"""The adding problem: remember two marked numbers over a long sequence and add them.

Hochreiter, S. and Schmidhuber, J. (1997). Long short-term memory. *Neural Computation*, 9(8),
Section 5.4; here in the modern form of Arjovsky, Shah & Bengio (2016) and Bai, Kolter &
Koltun (2018).

Each step carries two inputs: a number drawn from U(0, 1) and a marker, 1 at exactly two steps
(one in each half of the sequence) and 0 elsewhere. The target, due at the last step only, is
the sum of the two marked numbers. Always answering 1 gives a mean squared error of about 0.167
(the variance of the sum of two U(0, 1) draws, 1/6); a network that solved the task is far below.
"""

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.tasks.base import Split, Task


class AddingConfig(BaseModel):
    """``[task]`` of the adding problem."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["adding"] = "adding"
    seq_len: int = Field(50, ge=2, description="T, steps per sequence")
    num_train: int = Field(10000, ge=1, description="training sequences")
    num_val: int = Field(1000, ge=1, description="validation sequences")
    num_test: int = Field(1000, ge=1, description="test sequences")
    seed: int = Field(0, description="seed of the data; the training seed is separate")


def adding_sequences(num: int, seq_len: int, generator: torch.Generator) -> Split:
    """``num`` adding-problem sequences of ``seq_len`` steps; the loss mask is the last step."""
    values = torch.rand(num, seq_len, generator=generator)
    half = seq_len // 2
    first = torch.randint(half, (num,), generator=generator)
    second = half + torch.randint(seq_len - half, (num,), generator=generator)
    markers = torch.zeros(num, seq_len)
    rows = torch.arange(num)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)  # (N, T, 2)
    y = torch.zeros(num, seq_len, 1)
    y[:, -1, 0] = values[rows, first] + values[rows, second]
    mask = torch.zeros(num, seq_len, dtype=torch.bool)
    mask[:, -1] = True
    return Split(x=x, y=y, mask=mask)


class Adding(Task):
    """The adding problem as a sequence task; see the module docstring."""

    name = "adding"
    description = "Hochreiter & Schmidhuber (1997): add the two marked numbers of a long sequence"
    stream = False
    loss = "mse"
    input_size = 2
    output_size = 1

    def __init__(self, config: AddingConfig) -> None:
        self.config = config

    def splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.config.seed)
        c = self.config
        return {
            split: adding_sequences(num, c.seq_len, generator)
            for split, num in (("train", c.num_train), ("val", c.num_val), ("test", c.num_test))
        }

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """``accuracy``: the fraction of sequences answered within 0.04 (the 1997 criterion)."""
        error = (predictions[:, -1, 0] - split.y[:, -1, 0]).abs()  # (N,)
        return {"accuracy": float((error < 0.04).float().mean())}
