"""Generalised advantage estimation (Schulman et al. 2016, eq. 16) over a rollout with
episode ends and autoreset dummies.

For a real transition ``t``::

    delta_t = r_t + gamma * V_{t+1} * (1 - terminated_t) - V_t
    A_t     = delta_t + gamma * lambda * (1 - ended_t) * A_{t+1}

``V_{t+1}`` is the value of the next step of the same environment, or ``last_value`` after the
last step. When step ``t`` ended an episode, the next step is the autoreset dummy, whose value
is that of the episode's last observation: a truncated episode bootstraps from it, a terminated
one does not (``1 - terminated``), and ``1 - ended`` stops the sum at the episode's end. The
dummy itself gets no advantage (0) and takes no part in any other step's.
"""

import numpy as np
import torch


def gae(rewards: np.ndarray, values: torch.Tensor, last_value: torch.Tensor,
        terminated: np.ndarray, ended: np.ndarray, valid: np.ndarray, gamma: float,
        lam: float) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Advantages and returns (advantages + values), each (T, E), of a rollout's (T, E)
    arrays; 0 and the value at the dummies (``valid`` false)."""
    values_np = values.double().numpy()
    next_values = np.concatenate([values_np[1:], last_value.double().numpy()[None]])
    T = len(rewards)
    advantages = np.zeros_like(values_np)
    following = np.zeros(values_np.shape[1])
    for t in reversed(range(T)):
        delta = rewards[t] + gamma * next_values[t] * (1.0 - terminated[t]) - values_np[t]
        following = np.where(valid[t], delta + gamma * lam * (1.0 - ended[t]) * following, 0.0)
        advantages[t] = following
    advantages = torch.as_tensor(advantages, dtype=torch.float32)
    return advantages, advantages + values
