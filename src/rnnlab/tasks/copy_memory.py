"""The copy-memory task: read ten symbols, wait T steps, then write them back in order.

Arjovsky, M., Shah, A. and Bengio, Y. (2016). Unitary evolution recurrent neural networks.
*ICML*; generated as in the code of Bai, Kolter & Koltun (2018), ``locuslab/TCN``
(``copy_memory/utils.py``).

An alphabet of 10 symbols: 0 is the blank, 1-8 are data and 9 is the delimiter. Each sequence
has T + 20 steps (T is ``seq_len``, TCN's ``--seq_len``): ten data symbols drawn uniformly from
1-8, then T - 1 blanks, then the delimiter, then ten more steps. As in TCN's generator the last
11 inputs are all 9: the first of them is the delimiter, the other ten mark the steps at which
the network must answer. The target is T + 10 blanks followed by the ten data symbols in order.
Inputs are one-hot, targets class indices, and the loss is the cross-entropy at every step.

A memoryless network that answers blank for T + 10 steps and then a uniform guess over the
eight data symbols reaches a cross-entropy of 10 ln 8 / (T + 20); the metric ``baseline_loss``
reports that bar, and a network that solved the task is far below it.
"""

import math
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.tasks.base import Split, Task, seed_field

NUM_SYMBOLS = 10
"""The alphabet: 0 blank, 1-8 data, 9 delimiter."""
BLANK = 0
DELIMITER = 9
NUM_DATA_SYMBOLS = 8
MEMORY_LEN = 10
"""Data symbols to remember and recall."""


class CopyMemoryConfig(BaseModel):
    """``[task]`` of the copy-memory task."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["copy_memory"] = "copy_memory"
    seq_len: int = Field(
        100, ge=1, description="T: blanks before the delimiter + 1; a sequence has T + 20 steps"
    )
    num_train: int = Field(10000, ge=1, description="training sequences")
    num_val: int = Field(1000, ge=1, description="validation sequences")
    num_test: int = Field(1000, ge=1, description="test sequences")
    seed: int = seed_field("seed of the data; the training seed is separate")


def copy_memory_sequences(num: int, seq_len: int, generator: torch.Generator) -> Split:
    """``num`` copy-memory sequences of ``seq_len + 20`` steps; the loss covers every step.

    Returns one-hot inputs (N, T + 20, 10) and class-index targets (N, T + 20).
    """
    data = torch.randint(1, NUM_DATA_SYMBOLS + 1, (num, MEMORY_LEN), generator=generator)
    length = seq_len + 2 * MEMORY_LEN
    symbols = torch.full((num, length), BLANK, dtype=torch.long)
    symbols[:, :MEMORY_LEN] = data
    symbols[:, -(MEMORY_LEN + 1) :] = DELIMITER  # the delimiter at T + 9, then ten more 9s
    y = torch.full((num, length), BLANK, dtype=torch.long)
    y[:, -MEMORY_LEN:] = data
    x = F.one_hot(symbols, NUM_SYMBOLS).float()
    return Split(x=x, y=y)


def baseline_loss(seq_len: int) -> float:
    """The memoryless cross-entropy per step, 10 ln 8 / (T + 20)."""
    return MEMORY_LEN * math.log(NUM_DATA_SYMBOLS) / (seq_len + 2 * MEMORY_LEN)


class CopyMemory(Task):
    """The copy-memory task as a sequence task; see the module docstring."""

    name = "copy_memory"
    description = "Arjovsky et al. (2016): recall ten symbols after T blanks and a delimiter"
    stream = False
    loss = "cross_entropy"
    input_size = NUM_SYMBOLS
    output_size = NUM_SYMBOLS

    def __init__(self, config: CopyMemoryConfig) -> None:
        self.config = config

    def splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.config.seed)
        c = self.config
        return {
            split: copy_memory_sequences(num, c.seq_len, generator)
            for split, num in (("train", c.num_train), ("val", c.num_val), ("test", c.num_test))
        }

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """``recall_accuracy`` and ``baseline_loss``.

        ``recall_accuracy``: the fraction of the ten recalled symbols (the last ten steps) whose
        most probable class is right. ``baseline_loss``: the memoryless cross-entropy
        10 ln 8 / (T + 20), a constant to compare the loss with.
        """
        recalled = predictions[:, -MEMORY_LEN:].argmax(dim=-1)  # (N, 10)
        correct = (recalled == split.y[:, -MEMORY_LEN:]).float().mean()
        seq_len = split.x.shape[1] - 2 * MEMORY_LEN
        return {"recall_accuracy": float(correct), "baseline_loss": baseline_loss(seq_len)}
