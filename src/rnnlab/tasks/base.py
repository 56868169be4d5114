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
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field

# The largest seed every consumer takes: scikit-learn's random_state stops at 2**32 - 1, numpy
# refuses negative seeds, torch's Generator anything from 2**64 on.
MAX_SEED = 2**32 - 1

Loss = Literal["mse", "sigmoid_mse", "bce", "cross_entropy", "gaussian_nll"]


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

    def report(self, predictions: torch.Tensor, split: Split, directory: Path | None) -> dict:
        """Metrics too detailed for every validation (per class), and figures written to
        ``directory``; used by ``rnnlab evaluate``."""
        return {}

    def baselines(self, split: str) -> dict[str, dict[str, float]]:
        """The metrics of the methods a user would pick instead of an RNN on ``split``."""
        return {}

    def initialise(self, network) -> None:
        """Set a fresh network's parameters from the training data where the task knows a
        better start than random (a forecaster's linear part by least squares)."""

    network_ensembles: ClassVar[bool] = False
    """True when :meth:`evaluate_network` also takes a list of networks, an ensemble."""

    def evaluate_network(self, network, split: str, directory: Path | None, full: bool) -> dict:
        """Metrics that need the network itself, not its outputs on the split: translations
        decoded and scored (BLEU), forecasts from rolling origins. ``full`` is False at a
        validation during training (quick metrics only) and True for ``rnnlab evaluate``
        (everything, figures written to ``directory``)."""
        return {}


LOG_VARIANCE_LIMIT = 12.0  # log-variances are clamped to +-this, so the likelihood stays finite


def gaussian_parts(outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The means and (clamped) log-variances of "gaussian_nll" outputs (..., 2 O)."""
    mean, log_variance = outputs.chunk(2, dim=-1)
    return mean, log_variance.clamp(-LOG_VARIANCE_LIMIT, LOG_VARIANCE_LIMIT)


def predictions_from_outputs(outputs: torch.Tensor, loss: Loss) -> torch.Tensor:
    """The network's predictions: its raw outputs through the activation its loss implies
    ("gaussian_nll": the means, then the standard deviations)."""
    if loss in ("sigmoid_mse", "bce"):
        return torch.sigmoid(outputs)
    if loss == "cross_entropy":
        return torch.softmax(outputs, dim=-1)
    if loss == "gaussian_nll":
        mean, log_variance = gaussian_parts(outputs)
        return torch.cat([mean, (0.5 * log_variance).exp()], dim=-1)
    return outputs


def masked_loss(
    outputs: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor | None,
    loss: Loss,
    weight: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """The mean loss over the steps where ``mask`` is True (every step if None).

    ``outputs`` (B, T, O) are raw network outputs, or (B, O) with one target per sequence.
    Squared errors (and Gaussian negative log-likelihoods) are averaged over output units
    too, as torch's ``mse_loss`` does;
    cross-entropy is per step, with class weights ``weight`` if given (a weighted mean), and
    ``label_smoothing`` (Szegedy et al. 2016) mixing that share of a uniform distribution into
    the target distribution.
    """
    if outputs.dim() == 2:
        if loss != "cross_entropy":
            raise ValueError(f"one target per sequence needs loss 'cross_entropy'; got {loss!r}")
        return F.cross_entropy(outputs, y, weight=weight, label_smoothing=label_smoothing)
    if loss == "cross_entropy":
        per_step = F.cross_entropy(
            outputs.transpose(1, 2), y, reduction="none", label_smoothing=label_smoothing
        )  # (B, T)
        if weight is not None:
            weights = weight[y]
            if mask is not None:
                weights = weights * mask
            return (per_step * weights).sum() / weights.sum()
    elif loss == "bce":
        per_step = F.binary_cross_entropy_with_logits(outputs, y, reduction="none").mean(-1)
    elif loss == "gaussian_nll":  # -log N(y; mean, variance) without the constant log(2 pi) / 2
        mean, log_variance = gaussian_parts(outputs)
        per_step = (0.5 * (log_variance + (y - mean) ** 2 / log_variance.exp())).mean(-1)
    else:
        per_step = ((predictions_from_outputs(outputs, loss) - y) ** 2).mean(-1)  # (B, T)
    if mask is None:
        return per_step.mean()
    return per_step[mask].mean()
