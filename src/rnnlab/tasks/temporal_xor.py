"""Elman's (1990) temporal XOR: every third bit is the XOR of the two before it.

Elman, J. L. (1990). Finding structure in time. *Cognitive Science*, 14, 179-211,
Simulation 1 (pp. 185-187, Fig. 3).

Random bit pairs ``(a, b)`` are each followed by ``a XOR b`` and concatenated into one stream,
e.g. ``1 0 1 0 0 0 0 1 1 ...``. The network reads bit t and predicts bit t + 1. Only every third
bit is predictable, so a network that learned the task has low error there and chance error
(squared error 0.25 for an output of 0.5) elsewhere.
"""

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.tasks.base import Split, Task, next_step_split, seed_field


class TemporalXORConfig(BaseModel):
    """``[task]`` of the temporal XOR."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["temporal_xor"] = "temporal_xor"
    num_pairs: int = Field(1000, ge=2, description="bit pairs per stream (Elman: 1,000)")
    loss: Literal["sigmoid_mse", "bce"] = "sigmoid_mse"
    seed: int = seed_field("seed of the data; the training seed is separate")


def xor_stream(num_pairs: int, generator: torch.Generator) -> torch.Tensor:
    """A stream of ``num_pairs`` triples ``a, b, a XOR b``: a float tensor of 0s and 1s (3n,)."""
    pairs = torch.randint(2, (num_pairs, 2), generator=generator)
    triples = torch.cat([pairs, pairs[:, :1] ^ pairs[:, 1:]], dim=1)  # (n, 3)
    return triples.reshape(-1).float()


class TemporalXOR(Task):
    """The temporal XOR stream task; see the module docstring."""

    name = "temporal_xor"
    description = "Elman (1990) sim. 1: predict the next bit of a stream where every 3rd is XOR"
    stream = True
    autoregressive = True
    input_size = 1
    output_size = 1

    def __init__(self, config: TemporalXORConfig) -> None:
        self.config = config
        self.loss = config.loss

    def splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.config.seed)
        result = {}
        for split in ("train", "val", "test"):
            bits = xor_stream(self.config.num_pairs, generator)
            result[split] = next_step_split(bits[:, None])
        return result

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """Squared error where the target is the XOR bit, and where it is a random bit."""
        error = ((predictions - split.y) ** 2)[0, :, 0]  # (T,)
        target_position = torch.arange(1, error.shape[0] + 1)  # target t + 1 of input t
        is_xor = target_position % 3 == 2
        return {
            "xor_bit_error": float(error[is_xor].mean()),
            "random_bit_error": float(error[~is_xor].mean()),
        }
