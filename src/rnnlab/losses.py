"""The losses of the tasks' targets, and the predictions a loss implies.

A task names its loss (:attr:`rnnlab.tasks.base.Task.loss`); the trainer, the models and the
evaluations compute it here:

- ``"mse"``: linear outputs, squared error;
- ``"sigmoid_mse"``: squared error of logistic outputs (as in Elman 1990);
- ``"bce"``: logistic outputs, binary cross-entropy;
- ``"cross_entropy"``: softmax over classes;
- ``"gaussian_nll"``: 2 O outputs, the means and log-variances of O normal distributions,
  and their negative log-likelihood.
"""

from typing import Literal

import torch
import torch.nn.functional as F

Loss = Literal["mse", "sigmoid_mse", "bce", "cross_entropy", "gaussian_nll"]

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
