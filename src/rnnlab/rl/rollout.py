"""Rollouts of a policy in vectorised environments, with gymnasium 1.x's next-step autoreset.

Gymnasium 1.x vector environments reset an environment whose episode ended *on the next call
to step*: that call ignores the action and returns the new episode's first observation with
reward 0 (``AutoresetMode.NEXT_STEP``). So at step ``t`` of environment ``e``:

* ``autoreset[t]`` (the step after the one that ended an episode) is a dummy transition: its
  observation is the ended episode's last one and its action is ignored. It is not trained on
  (:func:`rnnlab.rl.advantages.gae` gives it no advantage and the sequence minibatches leave
  it out), but the value the policy computes for it is the value of the last observation,
  which is what a truncated (time-limited) episode bootstraps from.
* ``starts[t]`` (the step after a dummy, and the first step after a reset) begins an episode:
  the policy's state is reset *before* the step (:meth:`rnnlab.rl.policy.Policy.reset`), and
  the stored state of that step is the fresh one.

Shapes: T steps of E environments; every array below is (T, E, ...).
"""

from dataclasses import dataclass, field

import numpy as np
import torch

from rnnlab.rl.normalisation import ObservationNormaliser, RewardScaler
from rnnlab.rl.policy import Policy, State


@dataclass
class Rollout:
    """T steps of E environments (see the module docstring)."""

    observations: torch.Tensor  # (T, E, I), normalised as the policy saw them
    states: tuple[torch.Tensor, ...]  # each (T, L, E, H): the state before each step
    starts: np.ndarray  # (T, E) bool: an episode begins (the state was reset)
    autoreset: np.ndarray  # (T, E) bool: the dummy transition after an episode ended
    actions: torch.Tensor  # (T, E) or (T, E, A)
    log_probs: torch.Tensor  # (T, E)
    values: torch.Tensor  # (T, E)
    rewards: np.ndarray  # (T, E), scaled as trained on
    terminated: np.ndarray  # (T, E) bool
    ended: np.ndarray  # (T, E) bool: terminated or truncated
    last_value: torch.Tensor  # (E,): the value of the observation after the last step
    episode_returns: list[float] = field(default_factory=list)  # episodes ended, unscaled
    episode_lengths: list[int] = field(default_factory=list)

    @property
    def valid(self) -> np.ndarray:
        """(T, E) bool: the real transitions (not the autoreset dummies)."""
        return ~self.autoreset


class RolloutCollector:
    """Steps ``envs`` with ``policy``, carrying observations, states and episode bookkeeping
    from one rollout to the next.

    Args:
        envs: a gymnasium vector environment (next-step autoreset).
        policy: the policy that acts (sampling from its distribution).
        normaliser: updated with and applied to the observations of real transitions.
        rewards: the reward scaler.
        seed: ``envs.reset(seed=seed)``: environment ``e`` is seeded ``seed + e``.
    """

    def __init__(self, envs, policy: Policy, normaliser: ObservationNormaliser,
                 rewards: RewardScaler, seed: int) -> None:  # fmt: skip
        self.envs, self.policy, self.normaliser, self.rewards = envs, policy, normaliser, rewards
        E = envs.num_envs
        self.observation, _ = envs.reset(seed=seed)
        self.starts = np.ones(E, bool)
        self.autoreset = np.zeros(E, bool)
        self.state: State = policy.initial_state(E)
        self.episode_return = np.zeros(E)
        self.episode_length = np.zeros(E, np.int64)
        space = envs.single_action_space
        self.low = getattr(space, "low", None)
        self.high = getattr(space, "high", None)

    @torch.no_grad()
    def collect(self, steps: int) -> Rollout:
        """The next ``steps`` steps of every environment."""
        record: dict[str, list] = {k: [] for k in (
            "observations", "states", "starts", "autoreset", "actions", "log_probs", "values",
            "rewards", "terminated", "ended",
        )}  # fmt: skip
        returns, lengths = [], []
        for _ in range(steps):
            valid = ~self.autoreset
            self.normaliser.update(self.observation[valid])
            observation = torch.as_tensor(self.normaliser(self.observation))  # (E, I)
            starts = torch.as_tensor(self.starts)
            state = self.policy.reset(self.state, starts)
            features, next_state = self.policy.features(observation[:, None], state)
            distribution = self.policy.distribution(features[:, 0])
            action = distribution.sample()
            record["observations"].append(observation)
            record["states"].append(state)
            record["starts"].append(self.starts)
            record["autoreset"].append(self.autoreset)
            record["actions"].append(action)
            record["log_probs"].append(distribution.log_prob(action))
            record["values"].append(self.policy.value(features[:, 0]))
            self.observation, reward, terminated, truncated, _ = self.envs.step(
                self.env_action(action)
            )
            ended = (terminated | truncated) & valid
            record["rewards"].append(self.rewards(reward, ended, valid))
            record["terminated"].append(terminated & valid)
            record["ended"].append(ended)
            self.episode_return += np.where(valid, reward, 0.0)
            self.episode_length += valid
            for e in np.flatnonzero(ended):
                returns.append(float(self.episode_return[e]))
                lengths.append(int(self.episode_length[e]))
            self.episode_return[ended] = 0.0
            self.episode_length[ended] = 0
            self.starts = self.autoreset.copy()  # the step after the dummy begins an episode
            self.autoreset = ended
            self.state = next_state
        last = torch.as_tensor(self.normaliser(self.observation))
        state = self.policy.reset(self.state, torch.as_tensor(self.starts))
        features, _ = self.policy.features(last[:, None], state)
        return Rollout(
            observations=torch.stack(record["observations"]),
            states=tuple(torch.stack(part) for part in zip(*record["states"])),
            starts=np.stack(record["starts"]),
            autoreset=np.stack(record["autoreset"]),
            actions=torch.stack(record["actions"]),
            log_probs=torch.stack(record["log_probs"]),
            values=torch.stack(record["values"]),
            rewards=np.stack(record["rewards"]),
            terminated=np.stack(record["terminated"]),
            ended=np.stack(record["ended"]),
            last_value=self.policy.value(features[:, 0]),
            episode_returns=returns,
            episode_lengths=lengths,
        )

    def env_action(self, action: torch.Tensor) -> np.ndarray:
        """The action as the environments take it: a Gaussian's clipped to the bounds."""
        action = action.numpy()
        if self.policy.kind == "continuous":
            return np.clip(action, self.low, self.high)
        return action
