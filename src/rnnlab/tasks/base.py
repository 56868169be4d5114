"""What a task gives the trainer: data splits, sizes, a loss and its metrics.

A task is a seeded generator (or a loader) of sequences. Every split holds tensors with a
batch dimension first, the same layout as the layers::

    x        (N, T, I)   inputs, or (N, T) integer token ids for a task with ``tokens``
    y        (N, T, O)   targets (float), or (N, T) class indices for "cross_entropy";
             (N,)        one class per sequence for a task with ``per_sequence``
    mask     (N, T)      where the loss applies (True) — None means every step
    lengths  (N,)        valid steps of each sequence (the rest is padding) — None: all T

A *stream* task (Elman's letter stream, the temporal XOR) has one long sequence, N = 1, that
the trainer cuts into parallel streams and chunks, carrying the state across chunks. A
*sequence* task has N independent sequences that the trainer shuffles into minibatches.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from pydantic import Field

from rnnlab.losses import Loss

# The largest seed every consumer takes: scikit-learn's random_state stops at 2**32 - 1, numpy
# refuses negative seeds, torch's Generator anything from 2**64 on.
MAX_SEED = 2**32 - 1


def seed_field(description: str):
    """The ``seed`` of a config: an integer in 0 .. :data:`MAX_SEED`, 0 by default."""
    return Field(0, ge=0, le=MAX_SEED, description=description)


@dataclass(frozen=True)
class Split:
    """One split of a task's data; see the module docstring for the shapes."""

    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor | None = None
    lengths: torch.Tensor | None = None

    def __post_init__(self) -> None:
        tokens = not (self.x.is_floating_point() or self.x.dtype == torch.bool)
        if self.x.dim() != (2 if tokens else 3):
            expected = "(N, T) token ids" if tokens else "(N, T, I)"
            raise ValueError(f"Split.x must be {expected}; got shape {tuple(self.x.shape)}")
        if self.lengths is not None and tuple(self.lengths.shape) != tuple(self.x.shape[:1]):
            raise ValueError(
                f"Split.lengths must be (N,) = ({self.x.shape[0]},); "
                f"got {tuple(self.lengths.shape)}"
            )
        if self.y.dim() == 1:  # one target per sequence
            if self.y.shape[0] != self.x.shape[0]:
                raise ValueError(
                    f"Split.y with one target per sequence must be (N,) = ({self.x.shape[0]},); "
                    f"got {tuple(self.y.shape)}"
                )
        elif tuple(self.y.shape[:2]) != tuple(self.x.shape[:2]):
            raise ValueError(
                f"Split.y must start with (N, T) = {tuple(self.x.shape[:2])}; "
                f"got {tuple(self.y.shape)}"
            )
        if self.mask is not None and tuple(self.mask.shape) != tuple(self.x.shape[:2]):
            raise ValueError(
                f"Split.mask must be (N, T) = {tuple(self.x.shape[:2])}; "
                f"got {tuple(self.mask.shape)}"
            )


def next_step_split(sequence: torch.Tensor) -> Split:
    """One stream (T, F) as a next-step prediction split: input t, target t + 1, N = 1."""
    return Split(x=sequence[None, :-1], y=sequence[None, 1:])


class Task:
    """Base class of the tasks. Subclasses set the class attributes and implement ``splits``.

    Attributes:
        name: the registry name, as written in a config's ``[task] name``.
        description: one line for ``rnnlab list``.
        stream: True for one long sequence (state carried across chunks), False for
            independent sequences.
        autoregressive: True when the input at t + 1 is the target at t (next-step
            prediction), so a model's own prediction can be fed back in.
        loss: ``"mse"`` (linear outputs), ``"sigmoid_mse"`` (squared error of logistic
            outputs, as in Elman 1990), ``"bce"`` (logistic outputs, cross-entropy),
            ``"cross_entropy"`` (softmax over classes) or ``"gaussian_nll"`` (2 O outputs:
            the means and log-variances of O normal distributions).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    stream: ClassVar[bool]
    autoregressive: ClassVar[bool] = False
    loss: ClassVar[Loss]
    input_size: int
    output_size: int

    def splits(self) -> dict[str, Split]:
        """The ``"train"``, ``"val"`` and ``"test"`` splits, the same for the same config."""
        raise NotImplementedError

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """Task-specific metrics of ``predictions`` (after the output activation)."""
        return {}

    # -- only some tasks: token inputs, one target per sequence, saved artifacts ------------
    tokens: ClassVar[bool] = False
    """True when ``x`` holds integer token ids in ``[0, input_size)`` (embedded or one-hot
    by the network) instead of vectors."""
    per_sequence: ClassVar[bool] = False
    """True when each sequence has one target (the network reads its final state)."""
    seq2seq: ClassVar[bool] = False
    """True when x is a source and y a target sequence, read by an encoder-decoder
    (translation); ``lengths`` are the sources' and ``mask`` marks the target tokens."""
    class_weights: torch.Tensor | None = None
    """Weights of the classes in the cross-entropy loss; None weighs them equally."""

    def save(self, directory: Path) -> None:
        """Write what a run needs besides its weights (a vocabulary) into ``directory``."""

    # What needs a trained network (decoding, backtests, reports, baselines) lives in
    # rnnlab.evaluation, which names each task's evaluation functions.
