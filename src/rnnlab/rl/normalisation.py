"""Running mean and variance (Chan et al.'s parallel update), and what uses them: observation
normalisation and the scaling of rewards by the running spread of the discounted return (as
stable-baselines3's ``VecNormalize``)."""

import numpy as np


class RunningMoments:
    """Mean and variance of everything :meth:`update` has seen, per entry of shape ``shape``.

    ``update(batch)`` with ``batch`` (N, *shape) merges the batch's moments exactly (Chan,
    Golub & LeVeque 1979), so the result equals ``np.mean``/``np.var`` of all the rows seen.
    """

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = 0.0

    def update(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch, np.float64)
        if len(batch) == 0:
            return
        n = float(len(batch))
        mean, var = batch.mean(axis=0), batch.var(axis=0)
        if self.count == 0:
            self.mean, self.var, self.count = mean, var, n
            return
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * n / total
        m2 = self.var * self.count + var * n + delta**2 * self.count * n / total
        self.var, self.count = m2 / total, total

    def state(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "var": self.var, "count": np.asarray(self.count)}

    def load(self, state: dict) -> None:
        self.mean = np.asarray(state["mean"], np.float64)
        self.var = np.asarray(state["var"], np.float64)
        self.count = float(np.asarray(state["count"]))


class ObservationNormaliser:
    """``(x - mean) / sqrt(var + eps)``, clipped to ±``clip``, with the running moments of
    the observations seen in training (none if ``enabled`` is false: the identity)."""

    def __init__(self, size: int, enabled: bool = True, clip: float = 10.0) -> None:
        self.moments = RunningMoments((size,))
        self.enabled, self.clip = enabled, clip

    def update(self, observations: np.ndarray) -> None:
        if self.enabled:
            self.moments.update(observations)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        if not self.enabled:
            return np.asarray(observations, np.float32)
        scaled = (observations - self.moments.mean) / np.sqrt(self.moments.var + 1e-8)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)


class RewardScaler:
    """Rewards divided by the running sd of the discounted return of each environment (the
    return restarts with every episode), clipped to ±``clip``; the identity if not
    ``enabled``."""

    def __init__(self, num_envs: int, gamma: float, enabled: bool = True, clip: float = 10.0):
        self.moments = RunningMoments(())
        self.returns = np.zeros(num_envs)
        self.gamma, self.enabled, self.clip = gamma, enabled, clip

    def __call__(self, rewards: np.ndarray, ended: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """The scaled rewards of one step; ``ended`` episodes restart their return, and only
        ``valid`` (not autoreset) steps enter the moments."""
        if not self.enabled:
            return rewards.astype(np.float32)
        self.returns = np.where(valid, self.returns * self.gamma + rewards, self.returns)
        self.moments.update(self.returns[valid])
        scaled = rewards / np.sqrt(self.moments.var + 1e-8)
        self.returns = np.where(ended, 0.0, self.returns)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)
