"""The losses of the tasks' targets, and the predictions a loss implies.

A task names its loss (:attr:`rnnlab.tasks.base.Task.loss`) and its kind of targets
(:attr:`rnnlab.tasks.base.Task.targets`); the trainer, the models and the evaluations compute
the loss here, with the function :data:`TARGET_LOSSES` gives for the kind of targets:
:func:`masked_loss` for outputs at every step, :func:`per_sequence_loss` for one output per
sequence. The losses:

- ``"mse"``: linear outputs, squared error;
- ``"sigmoid_mse"``: squared error of logistic outputs (as in Elman 1990);
- ``"bce"``: logistic outputs, binary cross-entropy;
- ``"cross_entropy"``: softmax over classes;
- ``"gaussian_nll"``: 2 O outputs, the means and log-variances of O normal distributions,
  and their negative log-likelihood;
- ``"ctc"``: connectionist temporal classification (Graves et al. 2006) of an unaligned
  label sequence (targets ``"transcript"``), :func:`ctc_loss`.
"""

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F

Loss = Literal["mse", "sigmoid_mse", "bce", "cross_entropy", "gaussian_nll", "ctc"]

Targets = Literal["per_step", "per_sequence", "sequence", "transcript"]
"""The kinds of targets a task declares (:attr:`rnnlab.tasks.base.Task.targets`): a target
at every step, one per sequence, a target sequence that an encoder-decoder reads, or an
unaligned label sequence that outputs at every step spell out under CTC."""

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
    if loss in ("cross_entropy", "ctc"):
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
    """The mean loss over the steps where ``mask`` (B, T) is True (every step if None).

    ``outputs`` (B, T, O) are raw network outputs at every step; ``y`` (B, T) class indices
    for "cross_entropy", (B, T, O) values otherwise ((B, T, O / 2) for "gaussian_nll").
    Squared errors (and Gaussian negative log-likelihoods) are averaged over output units
    too, as torch's ``mse_loss`` does;
    cross-entropy is per step, with class weights ``weight`` if given (a weighted mean), and
    ``label_smoothing`` (Szegedy et al. 2016) mixing that share of a uniform distribution into
    the target distribution. One output per sequence is :func:`per_sequence_loss`'s.
    """
    if outputs.dim() != 3:
        raise ValueError(
            f"masked_loss reads outputs at every step, (B, T, O); got shape "
            f"{tuple(outputs.shape)} (one output per sequence, (B, O), is per_sequence_loss's)"
        )
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


def per_sequence_loss(
    outputs: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor | None,
    loss: Loss,
    weight: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """The mean cross-entropy of one output per sequence: ``outputs`` (B, O) raw logits,
    ``y`` (B,) class indices, with class weights ``weight`` if given (a weighted mean) and
    ``label_smoothing`` as in :func:`masked_loss`.

    The arguments are :func:`masked_loss`'s, so that :data:`TARGET_LOSSES` can give either;
    ``mask`` must be None (one target per sequence has no steps to leave out), and ``loss``
    "cross_entropy", the only loss of one target per sequence so far.
    """
    if outputs.dim() != 2:
        raise ValueError(
            f"per_sequence_loss reads one output per sequence, (B, O); got shape "
            f"{tuple(outputs.shape)} (outputs at every step, (B, T, O), are masked_loss's)"
        )
    if loss != "cross_entropy":
        raise ValueError(f"one target per sequence needs loss 'cross_entropy'; got {loss!r}")
    if mask is not None:
        raise ValueError("one target per sequence has no steps to mask: pass mask=None")
    return F.cross_entropy(outputs, y, weight=weight, label_smoothing=label_smoothing)


def ctc_loss(
    outputs: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor | None,
    loss: Loss,
    weight: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """The CTC loss (``torch.nn.functional.ctc_loss``, blank 0) of outputs at every step
    spelling out unaligned label sequences, each divided by its label count, averaged over
    the batch (``reduction = "mean"`` of ``torch.nn.CTCLoss``).

    ``outputs`` (B, T, C) raw logits, class 0 the blank; ``y`` (B, S) labels in 1 .. C - 1,
    padded at the end with 0; ``mask`` (B, T) the valid steps of each sequence, a prefix (None:
    all T). Every label sequence needs at least one label. An input too short for its labels
    (fewer steps than labels plus repeated neighbours, which need a blank between them) has an
    infinite loss: it is not zeroed, so that the trainer's ``on_nonfinite`` sees it; the tasks
    drop and count such pairs when they build their data. The arguments are
    :func:`masked_loss`'s; ``weight`` and ``label_smoothing`` are refused.
    """
    if outputs.dim() != 3:
        raise ValueError(f"ctc_loss reads outputs (B, T, C); got shape {tuple(outputs.shape)}")
    if loss != "ctc":
        raise ValueError(f"transcript targets need loss 'ctc'; got {loss!r}")
    if weight is not None or label_smoothing:
        raise ValueError("ctc_loss takes no class weights and no label smoothing")
    B, T, _ = outputs.shape
    input_lengths = (
        torch.full((B,), T, dtype=torch.long) if mask is None else mask.sum(1).long().cpu()
    )
    target_lengths = (y != 0).sum(1).long().cpu()  # (B,)
    if (target_lengths == 0).any():
        raise ValueError("ctc_loss needs at least one label per sequence; got an empty one")
    log_probs = F.log_softmax(outputs, dim=-1).transpose(0, 1)  # (T, B, C)
    per_sequence = F.ctc_loss(
        log_probs, y, input_lengths, target_lengths, blank=0, reduction="none",
        zero_infinity=False,
    )  # fmt: skip  # (B,)
    return (per_sequence / target_lengths.to(per_sequence)).mean()


TARGET_LOSSES: dict[Targets, Callable[..., torch.Tensor]] = {
    "per_step": masked_loss,
    "per_sequence": per_sequence_loss,
    "sequence": masked_loss,  # an encoder-decoder's logits of every target token (B, T, V)
    "transcript": ctc_loss,  # outputs at every step (B, T, C) and labels (B, S), unaligned
}
"""The loss function of each kind of targets (:data:`Targets`), called as
``TARGET_LOSSES[task.targets](outputs, y, mask, task.loss, weight, label_smoothing)``."""
