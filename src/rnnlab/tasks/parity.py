"""The parity problem: is the number of +1s in a sequence of ±1 odd?

Bengio, Y., Simard, P. and Frasconi, P. (1994). Learning long-term dependencies with gradient
descent is difficult. *IEEE Transactions on Neural Networks*, 5(2), 157-166; as restated by
Hochreiter & Schmidhuber's "random guessing" report (RG01) and LSTM97.

Each sequence is ``seq_len`` elements, each +1 or -1 with equal chance, one input line. The
target, due at the last step only, is 1.0 when the number of +1s is odd and 0.0 when it is
even, learned through a logistic output with cross-entropy; a sequence counts as correct when
the output is on the target's side of 0.5. Bengio et al. used lengths of 25 to 50 (here one
fixed ``seq_len``, 25 by default) and, in one condition, added noise drawn uniformly from
[-0.2, 0.2] to each element: set ``noise = 0.2`` for that (the default is no noise). The noise
is below 1, so the sign of an input still tells its bit.
"""

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.tasks.base import Split, Task, seed_field


class ParityConfig(BaseModel):
    """``[task]`` of the parity problem."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["parity"] = "parity"
    seq_len: int = Field(25, ge=2, description="T, elements per sequence (Bengio et al.: 25-50)")
    noise: float = Field(
        0.0, ge=0, lt=1, description="half-width of uniform noise added to each element (0.2)"
    )
    num_train: int = Field(10000, ge=1, description="training sequences")
    num_val: int = Field(1000, ge=1, description="validation sequences")
    num_test: int = Field(1000, ge=1, description="test sequences")
    seed: int = seed_field("seed of the data; the training seed is separate")


def parity_sequences(num: int, seq_len: int, noise: float, generator: torch.Generator) -> Split:
    """``num`` parity sequences of ``seq_len`` steps; the loss mask is the last step."""
    bits = torch.randint(2, (num, seq_len), generator=generator)
    x = (bits.float() * 2 - 1)[..., None]  # (N, T, 1) of ±1
    if noise > 0:
        x = x + (torch.rand(num, seq_len, 1, generator=generator) * 2 - 1) * noise
    y = torch.zeros(num, seq_len, 1)
    y[:, -1, 0] = (bits.sum(dim=1) % 2).float()
    mask = torch.zeros(num, seq_len, dtype=torch.bool)
    mask[:, -1] = True
    return Split(x=x, y=y, mask=mask)


class Parity(Task):
    """The parity problem as a sequence task; see the module docstring."""

    name = "parity"
    description = "Bengio et al. (1994): is the number of +1s in a ±1 sequence odd?"
    stream = False
    loss = "bce"
    input_size = 1
    output_size = 1

    def __init__(self, config: ParityConfig) -> None:
        self.config = config

    def splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.config.seed)
        c = self.config
        return {
            split: parity_sequences(num, c.seq_len, c.noise, generator)
            for split, num in (("train", c.num_train), ("val", c.num_val), ("test", c.num_test))
        }

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """``accuracy``: the fraction of sequences whose final output is on the target's side."""
        predicted = predictions[:, -1, 0] > 0.5  # (N,)
        target = split.y[:, -1, 0] > 0.5
        return {"accuracy": float((predicted == target).float().mean())}
