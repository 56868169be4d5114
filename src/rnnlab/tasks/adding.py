"""The adding problem: remember two marked numbers over a long sequence and add them.

Hochreiter, S. and Schmidhuber, J. (1997). Long short-term memory. *Neural Computation*, 9(8),
Section 5.4 (``form = "hochreiter1997"``); and the modern form of Arjovsky, Shah & Bengio
(2016) and Bai, Kolter & Koltun (2018) (``form = "modern"``, the default).

Each step carries two inputs, a number and a marker; exactly two steps are marked with 1.0.
The target is due at the last step only; the loss is the squared error of the linear output
there, and a sequence counts as correct when its error is below 0.04 (the 1997 criterion).

``"modern"``: the numbers are drawn from U(0, 1); one marked step lies in each half of the
sequence and every other marker is 0. The target is the sum of the two marked numbers. Always
answering 1 gives a mean squared error of about 0.167 (the variance of the sum of two U(0, 1)
draws, 1/6); a network that solved the task is far below.

``"hochreiter1997"``: the numbers are drawn from U(-1, 1). The first marked step (X1) is one of
the first ten steps; the second (X2) is one of the first T/2 - 1 steps still unmarked. The
markers of the first and the final step are -1.0 unless marked, all others 0. When the first
step is marked, its number is set to 0 (in the input and in the sum). The target is
0.5 + (X1 + X2) / 4, which lies in [0, 1]. LSTM97 draws each sequence's length uniformly from
[T, T + T/10]; here every sequence has the fixed length ``seq_len`` (T).
"""

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rnnlab.tasks.base import Split, Task, seed_field


class AddingConfig(BaseModel):
    """``[task]`` of the adding problem."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["adding"] = "adding"
    form: Literal["modern", "hochreiter1997"] = Field(
        "modern", description="modern (Arjovsky et al. 2016) or the original of LSTM97 5.4"
    )
    seq_len: int = Field(50, ge=2, description="T, steps per sequence")
    num_train: int = Field(10000, ge=1, description="training sequences")
    num_val: int = Field(1000, ge=1, description="validation sequences")
    num_test: int = Field(1000, ge=1, description="test sequences")
    seed: int = seed_field("seed of the data; the training seed is separate")

    @model_validator(mode="after")
    def _long_enough(self) -> "AddingConfig":
        if self.form == "hochreiter1997" and self.seq_len < 10:
            raise ValueError(
                f"form = 'hochreiter1997' needs seq_len >= 10 (X1 is one of the first ten "
                f"steps); got seq_len = {self.seq_len}"
            )
        return self


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


def adding_sequences_1997(num: int, seq_len: int, generator: torch.Generator) -> Split:
    """``num`` sequences of the original adding problem (LSTM97 5.4) of ``seq_len`` steps.

    See the module docstring; the loss mask is the last step.
    """
    values = torch.rand(num, seq_len, generator=generator) * 2 - 1
    first = torch.randint(10, (num,), generator=generator)  # X1: one of the first ten steps
    candidates = seq_len // 2 - 1
    k = torch.randint(candidates, (num,), generator=generator)
    second = k + (k >= first).long()  # X2: the k-th step still unmarked
    markers = torch.zeros(num, seq_len)
    markers[:, 0] = -1.0
    markers[:, -1] = -1.0
    rows = torch.arange(num)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    values[:, 0] = torch.where(markers[:, 0] == 1.0, 0.0, values[:, 0])
    x = torch.stack([values, markers], dim=-1)  # (N, T, 2)
    y = torch.zeros(num, seq_len, 1)
    y[:, -1, 0] = 0.5 + (values[rows, first] + values[rows, second]) / 4.0
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
        make = adding_sequences if c.form == "modern" else adding_sequences_1997
        return {
            split: make(num, c.seq_len, generator)
            for split, num in (("train", c.num_train), ("val", c.num_val), ("test", c.num_test))
        }

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """``accuracy``: the fraction of sequences answered within 0.04 (the 1997 criterion)."""
        error = (predictions[:, -1, 0] - split.y[:, -1, 0]).abs()  # (N,)
        return {"accuracy": float((error < 0.04).float().mean())}
