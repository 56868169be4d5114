"""PPO's clipped surrogate objective with value clipping and the entropy bonus (Schulman et
al. 2017, eqs. 7 and 9), over masked (N, C) sequence positions::

    ratio   = exp(log pi(a|s) - log pi_old(a|s))
    policy  = -mean(min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A))
    value   = 0.5 * mean((V - R)^2)                          without value clipping, or
              0.5 * mean(max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2))
    total   = policy + value_coef * value - entropy_coef * mean(entropy)

with ``A`` the advantages (normalised by the caller), ``R`` the returns. Also the diagnostics
PPO implementations log: the approximate KL ``mean((ratio - 1) - log ratio)`` (Schulman's
k3 estimator) and the fraction of clipped ratios.
"""

from typing import NamedTuple

import torch


class PPOLoss(NamedTuple):
    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    entropy: torch.Tensor
    approx_kl: torch.Tensor
    clip_fraction: torch.Tensor


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum()


def ppo_loss(log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor,
             values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
             entropy: torch.Tensor, mask: torch.Tensor, clip: float, value_clip: float | None,
             value_coef: float, entropy_coef: float) -> PPOLoss:  # fmt: skip
    """The loss of the module docstring; every tensor has the shape of ``mask`` (float 0/1)."""
    log_ratio = log_probs - old_log_probs
    ratio = log_ratio.exp()
    surrogate = torch.min(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)
    policy = -masked_mean(surrogate, mask)
    squared = (values - returns) ** 2
    if value_clip is not None:
        clipped = old_values + (values - old_values).clamp(-value_clip, value_clip)
        squared = torch.max(squared, (clipped - returns) ** 2)
    value = 0.5 * masked_mean(squared, mask)
    mean_entropy = masked_mean(entropy, mask)
    total = policy + value_coef * value - entropy_coef * mean_entropy
    with torch.no_grad():
        approx_kl = masked_mean((ratio - 1) - log_ratio, mask)
        clip_fraction = masked_mean(((ratio - 1).abs() > clip).float(), mask)
    return PPOLoss(total, policy, value, mean_entropy, approx_kl, clip_fraction)
