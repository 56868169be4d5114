"""What a task gives the trainer: data splits, sizes, a loss and its metrics.

A task is a seeded generator (or a loader) of sequences. Every split holds tensors with a
batch dimension first, the same layout as the layers::

    x     (N, T, I)   inputs
    y     (N, T, O)   targets (float), or (N, T) class indices for "cross_entropy"
    mask  (N, T)      where the loss applies (True) — None means every step

A *stream* task (Elman's letter stream, the temporal XOR) has one long sequence, N = 1, that
the trainer cuts into parallel streams and chunks, carrying the state across chunks. A
*sequence* task has N independent sequences that the trainer shuffles into minibatches.
"""

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F

Loss = Literal["mse", "sigmoid_mse", "bce", "cross_entropy"]


@dataclass(frozen=True)
class Split:
    """One split of a task's data; see the module docstring for the shapes."""

    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.x.dim() != 3:
            raise ValueError(f"Split.x must be (N, T, I); got shape {tuple(self.x.shape)}")
        if tuple(self.y.shape[:2]) != tuple(self.x.shape[:2]):
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
            outputs, as in Elman 1990), ``"bce"`` (logistic outputs, cross-entropy) or
            ``"cross_entropy"`` (softmax over classes).
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


def predictions_from_outputs(outputs: torch.Tensor, loss: Loss) -> torch.Tensor:
    """The network's predictions: its raw outputs through the activation its loss implies."""
    if loss in ("sigmoid_mse", "bce"):
        return torch.sigmoid(outputs)
    if loss == "cross_entropy":
        return torch.softmax(outputs, dim=-1)
    return outputs


def masked_loss(
    outputs: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None, loss: Loss
) -> torch.Tensor:
    """The mean loss over the steps where ``mask`` is True (every step if None).

    ``outputs`` (B, T, O) are raw network outputs. Squared errors are averaged over output
    units too, as torch's ``mse_loss`` does; cross-entropy is per step.
    """
    if loss == "cross_entropy":
        per_step = F.cross_entropy(outputs.transpose(1, 2), y, reduction="none")  # (B, T)
    elif loss == "bce":
        per_step = F.binary_cross_entropy_with_logits(outputs, y, reduction="none").mean(-1)
    else:
        per_step = ((predictions_from_outputs(outputs, loss) - y) ** 2).mean(-1)  # (B, T)
    if mask is None:
        return per_step.mean()
    return per_step[mask].mean()
