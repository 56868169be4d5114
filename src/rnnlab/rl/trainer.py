"""Recurrent PPO: rollouts, advantages, sequence minibatches and clipped updates, in one loop.

:class:`PPOTrainer` holds what a policy run trains (environments, policy, optimiser,
normalisers, the update count); :meth:`PPOTrainer.update` is one rollout and its epochs of
minibatch updates, and :func:`train_policy` the loop to ``ppo.total_steps`` with a callback
after every update (the run directory's metrics and checkpoints live in
:mod:`rnnlab.train.policy_run`, which calls it). The recipe is CleanRL's ``ppo.py`` with the
sequence minibatches of :mod:`rnnlab.rl.segments`: Adam (eps 1e-5), a linearly annealed
learning rate, advantages normalised per minibatch, the gradient norm clipped.
"""

import math
import time
from collections import deque
from collections.abc import Callable

import numpy as np
import torch

from rnnlab.rl.advantages import gae
from rnnlab.rl.config import PolicyRunConfig
from rnnlab.rl.environments import action_kind, make_vector_environment
from rnnlab.rl.loss import masked_mean, ppo_loss
from rnnlab.rl.normalisation import ObservationNormaliser, RewardScaler
from rnnlab.rl.policy import Policy
from rnnlab.rl.rollout import RolloutCollector
from rnnlab.rl.segments import cut_segments


class PPOTrainer:
    """What a policy run trains, built from its config (see the module docstring)."""

    def __init__(self, config: PolicyRunConfig) -> None:
        self.config = config
        ppo = config.ppo
        torch.manual_seed(ppo.seed)
        self.envs = make_vector_environment(config.environment)
        observation_size = int(self.envs.single_observation_space.shape[0])
        self.policy = Policy(
            config.policy, observation_size, action_kind(self.envs.single_action_space)
        )
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=ppo.lr, eps=1e-5)
        self.normaliser = ObservationNormaliser(observation_size, ppo.normalise_observations)
        self.rewards = RewardScaler(config.environment.num_envs, ppo.gamma, ppo.normalise_rewards)
        self.steps_per_update = config.environment.num_envs * ppo.rollout_length
        self.total_updates = math.ceil(ppo.total_steps / self.steps_per_update)
        self.updates = 0
        self.recent_returns: deque[float] = deque(maxlen=20)
        self.recent_lengths: deque[int] = deque(maxlen=20)
        self._collector: RolloutCollector | None = None

    @property
    def env_steps(self) -> int:
        return self.updates * self.steps_per_update

    @property
    def collector(self) -> RolloutCollector:
        # Made on first use: a resumed run resets its environments from a seed of its own
        # (the environments' inner state is not checkpointed).
        if self._collector is None:
            seed = self.config.ppo.seed * 1_000_003 + self.updates
            self._collector = RolloutCollector(
                self.envs, self.policy, self.normaliser, self.rewards, seed % (2**31)
            )
        return self._collector

    def learning_rate(self) -> float:
        ppo = self.config.ppo
        if not ppo.anneal_lr:
            return ppo.lr
        return ppo.lr * (1.0 - self.updates / self.total_updates)

    def update(self) -> dict:
        """One rollout and its epochs of minibatch updates; the metrics record."""
        ppo = self.config.ppo
        start = time.perf_counter()
        lr = self.learning_rate()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        # Eval mode for acting and learning alike: no dropout or CTRNN noise that would make
        # the first epoch's ratios differ from 1.
        self.policy.eval()
        rollout = self.collector.collect(ppo.rollout_length)
        collected = time.perf_counter()
        advantages, returns = gae(
            rollout.rewards, rollout.values, rollout.last_value, rollout.terminated,
            rollout.ended, rollout.valid, ppo.gamma, ppo.gae_lambda,
        )  # fmt: skip
        segments = cut_segments(
            rollout.starts, rollout.valid, ppo.chunk_length or ppo.rollout_length
        )
        _, _, mask_np = segments.index()
        batch = {
            "observations": segments.gather(rollout.observations),
            "actions": segments.gather(rollout.actions),
            "log_probs": segments.gather(rollout.log_probs),
            "values": segments.gather(rollout.values),
            "advantages": segments.gather(advantages),
            "returns": segments.gather(returns),
            "mask": torch.as_tensor(mask_np, dtype=torch.float32),
            "lengths": torch.as_tensor(segments.lengths, dtype=torch.int64),
        }
        states = segments.initial_states(rollout.states)
        sums: dict[str, float] = {}
        count = 0
        for _ in range(ppo.epochs):
            order = torch.randperm(len(segments))
            for chosen in torch.tensor_split(order, ppo.minibatches):
                if len(chosen) == 0:
                    continue
                loss, grad_norm = self._minibatch(batch, states, chosen)
                for name, value in loss._asdict().items():
                    sums[name] = sums.get(name, 0.0) + float(value.detach())
                sums["grad_norm"] = sums.get("grad_norm", 0.0) + grad_norm
                count += 1
        self.updates += 1
        self.recent_returns.extend(rollout.episode_returns)
        self.recent_lengths.extend(rollout.episode_lengths)
        elapsed = time.perf_counter() - start
        record = {
            "update": self.updates,
            "env_steps": self.env_steps,
            "lr": lr,
            "episodes": len(rollout.episode_returns),
            **{
                f"loss_{k}" if k in ("total", "policy", "value") else k: v / count
                for k, v in sums.items()
            },
            "steps_per_second": self.steps_per_update / elapsed,
            "collect_seconds": collected - start,
            "update_seconds": elapsed - (collected - start),
        }
        if self.recent_returns:
            record["episode_return"] = float(np.mean(self.recent_returns))
            record["episode_length"] = float(np.mean(self.recent_lengths))
        return record

    def _minibatch(self, batch: dict, states: tuple, chosen: torch.Tensor):
        ppo = self.config.ppo
        mask = batch["mask"][chosen]
        state = tuple(part[:, chosen] for part in states)
        features, _ = self.policy.features(
            batch["observations"][chosen], state, lengths=batch["lengths"][chosen]
        )
        distribution = self.policy.distribution(features)
        log_probs = distribution.log_prob(batch["actions"][chosen])
        advantages = batch["advantages"][chosen]
        mean = masked_mean(advantages, mask)
        sd = masked_mean((advantages - mean) ** 2, mask).sqrt()
        advantages = (advantages - mean) / (sd + 1e-8)
        loss = ppo_loss(
            log_probs, batch["log_probs"][chosen], advantages, self.policy.value(features),
            batch["values"][chosen], batch["returns"][chosen], distribution.entropy(), mask,
            ppo.clip, ppo.value_clip, ppo.value_coef, ppo.entropy_coef,
        )  # fmt: skip
        self.optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.policy.parameters(), ppo.max_grad_norm)
        self.optimizer.step()
        return loss, float(grad_norm)


def train_policy(trainer: PPOTrainer, on_update: Callable[[PPOTrainer, dict], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> str:  # fmt: skip
    """Update ``trainer`` until ``ppo.total_steps`` (a hard limit), calling ``on_update``
    after each update; ``"finished"``, or ``"interrupted"`` when ``should_stop()`` says so."""
    while trainer.updates < trainer.total_updates:
        record = trainer.update()
        if on_update is not None:
            on_update(trainer, record)
        if should_stop is not None and should_stop():
            return "interrupted"
    return "finished"
