"""A policy's mean return over N seeded episodes, acting deterministically (or sampling).

Episode ``i`` runs in its own environment seeded ``seed + i``, all N stepped together; each
environment's first episode is counted and what follows it ignored, so the result does not
depend on how fast episodes end.
"""

from dataclasses import dataclass

import numpy as np
import torch

from rnnlab.rl.config import EnvironmentConfig
from rnnlab.rl.environments import make_vector_environment
from rnnlab.rl.normalisation import ObservationNormaliser
from rnnlab.rl.policy import Policy


@dataclass(frozen=True)
class PolicyEvaluation:
    """Returns and lengths of the evaluation episodes, in order of seed."""

    returns: list[float]
    lengths: list[int]
    seed: int
    deterministic: bool

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns))

    def metrics(self) -> dict:
        return {
            "mean_return": self.mean_return,
            "sd_return": float(np.std(self.returns)),
            "mean_length": float(np.mean(self.lengths)),
            "episodes": len(self.returns),
            "returns": self.returns,
            "seed": self.seed,
            "deterministic": self.deterministic,
        }


@torch.no_grad()
def evaluate_policy(policy: Policy, normaliser: ObservationNormaliser,
                    environment: EnvironmentConfig, episodes: int = 20, seed: int = 10_000,
                    deterministic: bool = True) -> PolicyEvaluation:  # fmt: skip
    """``episodes`` episodes of ``policy`` (see the module docstring)."""
    policy.eval()
    envs = make_vector_environment(environment, episodes)
    try:
        observation, _ = envs.reset(seed=seed)
        state = policy.initial_state(episodes)
        starts = torch.ones(episodes, dtype=torch.bool)
        running = np.ones(episodes, bool)
        returns, lengths = np.zeros(episodes), np.zeros(episodes, np.int64)
        space = envs.single_action_space
        while running.any():
            distribution, _, state = policy.step(
                torch.as_tensor(normaliser(observation)), state, starts
            )
            starts = torch.zeros(episodes, dtype=torch.bool)
            action = policy.greedy(distribution) if deterministic else distribution.sample()
            action = action.numpy()
            if policy.kind == "continuous":
                action = np.clip(action, space.low, space.high)
            observation, reward, terminated, truncated, _ = envs.step(action)
            returns += np.where(running, reward, 0.0)
            lengths += running
            running &= ~(terminated | truncated)
    finally:
        envs.close()
    return PolicyEvaluation(returns.tolist(), lengths.tolist(), seed, deterministic)
