"""The n-bit flip-flop: hold the sign of the last pulse on each of n input channels.

Sussillo, D. and Barak, O. (2013). Opening the black box: low-dimensional dynamics in
high-dimensional recurrent neural networks. *Neural Computation*, 25(3), 626-649 (the 3-bit
flip-flop); the generator is FixedPointFinder's (``examples/helper/FlipFlopData.py`` at
``mattgolub/fixed-point-finder@1a30417``; Golub & Sussillo 2018).

A trial has ``seq_len`` (T) steps and ``num_bits`` (n, 3 by default) input channels, one per
bit of memory. At every step each channel carries a pulse with probability
``pulse_probability`` (p), and always at step 0; a pulse is +1 or -1 with equal chance, and
the channel is 0 otherwise. The target of each bit, at every step, is the sign of that
channel's most recent pulse, from the pulse's own step on: an input pulse flips the bit
whenever its sign is opposite to the bit's state. So the trial is self-describing: the
pulses are the inputs ``x`` (N, T, n), and the memory state the targets ``y`` (N, T, n) in
{-1, +1}; the loss is the squared error of the linear outputs at every step (no mask).

FixedPointFinder's default p = 0.5 gives dense pulses (a bit holds about two steps on
average); Sussillo & Barak's figure shows sparse ones, which a small p (0.05) gives. A network
that solves the task needs 2^n attractors, one per memory state (:func:`memory_patterns`);
:mod:`rnnlab.analysis.fixed_points` finds them.

Metrics: ``accuracy``, the fraction of (step, bit) whose output has the target's sign;
``held_accuracy``, the same without the steps where that bit's channel pulses (where the
memory must be held, not switched).
"""

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.tasks.base import Split, Task, seed_field


class FlipFlopConfig(BaseModel):
    """``[task]`` of the n-bit flip-flop."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["flipflop"] = "flipflop"
    num_bits: int = Field(3, ge=1, le=16, description="n, channels and bits of memory")
    seq_len: int = Field(64, ge=1, description="T, steps per trial")
    pulse_probability: float = Field(
        0.5, gt=0, le=1, description="p, the chance of a pulse on a channel at each step"
    )
    num_train: int = Field(512, ge=1, description="training trials")
    num_val: int = Field(128, ge=1, description="validation trials")
    num_test: int = Field(512, ge=1, description="test trials")
    seed: int = seed_field("seed of the data; the training seed is separate")


def flipflop_trials(
    num: int, seq_len: int, num_bits: int, pulse_probability: float, generator: torch.Generator
) -> Split:
    """``num`` flip-flop trials: pulses ``x`` (N, T, n) in {-1, 0, +1}, a pulse on every
    channel at step 0, and targets ``y`` (N, T, n), the sign of each channel's last pulse."""
    shape = (num, seq_len, num_bits)
    pulses = torch.rand(shape, generator=generator) < pulse_probability
    pulses[:, 0] = True
    signs = torch.randint(2, shape, generator=generator) * 2 - 1
    x = (pulses * signs).float()
    steps = torch.arange(seq_len)[None, :, None].expand(shape)
    last = torch.cummax(torch.where(pulses, steps, 0), dim=1).values  # the last pulse's step
    y = torch.gather(x, 1, last)
    return Split(x=x, y=y)


def memory_patterns(num_bits: int) -> torch.Tensor:
    """(2^n, n) every memory state of n bits, in {-1, +1}, in binary order (-1 first)."""
    codes = torch.arange(2**num_bits)[:, None] >> torch.arange(num_bits - 1, -1, -1)
    return ((codes & 1) * 2 - 1).float()


class FlipFlop(Task):
    """The n-bit flip-flop as a sequence task; see the module docstring."""

    name = "flipflop"
    description = (
        "Sussillo & Barak (2013) 3-bit flip-flop: hold the sign of each channel's last pulse"
    )
    stream = False
    loss = "mse"

    def __init__(self, config: FlipFlopConfig) -> None:
        self.config = config
        self.input_size = config.num_bits
        self.output_size = config.num_bits

    def splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.config.seed)
        c = self.config
        return {
            split: flipflop_trials(num, c.seq_len, c.num_bits, c.pulse_probability, generator)
            for split, num in (("train", c.num_train), ("val", c.num_val), ("test", c.num_test))
        }

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """``accuracy`` (every step and bit) and ``held_accuracy`` (the steps without a pulse
        on that bit): the fraction whose output has the target's sign."""
        right = torch.sign(predictions) == split.y  # (N, T, n)
        held = split.x == 0
        return {
            "accuracy": float(right.float().mean()),
            "held_accuracy": float(right[held].float().mean()) if held.any() else 1.0,
        }
