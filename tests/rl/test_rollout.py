"""Rollouts under gymnasium 1.x's next-step autoreset: the dummy transition after an episode's
end is marked and not trained on, and the state is reset before the next episode's first step.

The environment's episodes have known lengths and observations, so every stored state can be
checked against the layer run over that episode's observations alone, from a fresh state.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch

from rnnlab.rl.advantages import gae
from rnnlab.rl.config import EnvironmentConfig, PolicyConfig
from rnnlab.rl.environments import make_vector_environment
from rnnlab.rl.normalisation import ObservationNormaliser, RewardScaler
from rnnlab.rl.policy import Policy
from rnnlab.rl.rollout import RolloutCollector
from rnnlab.rl.segments import cut_segments


class Episodes(gym.Env):
    """Episodes of lengths 3, 5, 2, 4, ... (by episode count); the observation is
    (step within the episode, episode count); reward 1 per step; the last step terminates on
    odd episodes and is truncated on even ones."""

    LENGTHS = (3, 5, 2, 4)
    observation_space = gym.spaces.Box(-100.0, 100.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode=None) -> None:
        self.render_mode = render_mode
        self.episode = -1

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode += 1
        self.t = 0
        return self._observation(), {}

    def step(self, action):
        self.t += 1
        end = self.t >= self.LENGTHS[self.episode % len(self.LENGTHS)]
        terminated, truncated = end and self.episode % 2 == 1, end and self.episode % 2 == 0
        return self._observation(), 1.0, terminated, truncated, {}

    def _observation(self):
        return np.array([self.t, self.episode], np.float32)


gym.register("RnnlabTestEpisodes-v0", entry_point=Episodes)


@pytest.fixture(params=["gru", "lstm", "feedforward"])
def collected(request):
    torch.manual_seed(0)
    config = EnvironmentConfig(id="RnnlabTestEpisodes-v0", num_envs=2)
    envs = make_vector_environment(config)
    policy = Policy(PolicyConfig(kind=request.param, hidden_size=5), 2, ("discrete", 2))
    normaliser = ObservationNormaliser(2, enabled=False)
    collector = RolloutCollector(envs, policy, normaliser, RewardScaler(2, 0.9, False), seed=0)
    first, second = collector.collect(9), collector.collect(8)
    return policy, first, second


def test_the_step_after_an_episode_ends_is_a_dummy_and_the_next_one_starts(collected):
    _, rollout, _ = collected
    T = 9
    # episode 0: steps 0-2 (ends at 2), dummy 3, episode 1 from 4: 4-8 (5 steps, ends at 8)
    expected_ended = np.zeros(T, bool)
    expected_ended[[2, 8]] = True
    for e in range(2):
        np.testing.assert_array_equal(rollout.ended[:, e], expected_ended)
        np.testing.assert_array_equal(np.flatnonzero(rollout.autoreset[:, e]), [3])
        np.testing.assert_array_equal(np.flatnonzero(rollout.starts[:, e]), [0, 4])
        np.testing.assert_array_equal(np.flatnonzero(rollout.terminated[:, e]), [8])
    assert rollout.episode_returns == [3.0, 3.0, 5.0, 5.0]  # the dummy's reward is not counted
    assert rollout.episode_lengths == [3, 3, 5, 5]
    # the dummy's observation is the ended episode's last one: (3, 0)
    np.testing.assert_array_equal(rollout.observations[3, 0].numpy(), [3.0, 0.0])
    np.testing.assert_array_equal(rollout.observations[4, 0].numpy(), [0.0, 1.0])


def test_the_dummy_gets_no_advantage_and_no_segment(collected):
    _, rollout, _ = collected
    advantages, _ = gae(rollout.rewards, rollout.values, rollout.last_value,
                        rollout.terminated, rollout.ended, rollout.valid, 0.9, 0.9)  # fmt: skip
    assert (advantages[3] == 0).all()
    segments = cut_segments(rollout.starts, rollout.valid, 9)
    t, _, mask = segments.index()
    assert 3 not in t[mask]
    assert segments.start.tolist() == [0, 4, 0, 4] and segments.lengths.tolist() == [3, 5] * 2


def test_every_stored_state_is_the_layer_over_its_episode_from_a_fresh_state(collected):
    policy, first, second = collected
    if not policy.recurrent:
        assert first.states == ()
        return
    observations = torch.cat([first.observations, second.observations])  # (17, E, I)
    states = [torch.cat(parts) for parts in zip(first.states, second.states)]
    starts = np.concatenate([first.starts, second.starts])
    valid = np.concatenate([first.valid, second.valid])
    for e in range(2):
        for t in range(len(observations)):
            if not valid[t, e]:
                continue
            begin = max(s for s in range(t + 1) if starts[s, e])  # this episode's first step
            expected = policy.initial_state(1)
            if t > begin:
                with torch.no_grad():
                    _, expected = policy.features(observations[begin:t, e][None], expected)
            for part, want in zip(states, expected):
                torch.testing.assert_close(part[t, :, e], want[:, 0])
    # the second rollout carried on: episode 2 (2 steps) starts at 0 after episode 1's dummy
    np.testing.assert_array_equal(np.flatnonzero(second.autoreset[:, 0]), [0, 3])
    np.testing.assert_array_equal(np.flatnonzero(second.starts[:, 0]), [1, 4])


def test_log_probs_of_stored_actions_are_recomputed_by_the_sequence_minibatch(collected):
    policy, rollout, _ = collected
    segments = cut_segments(rollout.starts, rollout.valid, 4)
    _, _, mask = segments.index()
    state = segments.initial_states(rollout.states)
    with torch.no_grad():
        features, _ = policy.features(
            segments.gather(rollout.observations), state,
            lengths=torch.as_tensor(segments.lengths),
        )  # fmt: skip
        log_probs = policy.distribution(features).log_prob(segments.gather(rollout.actions))
    mask = torch.as_tensor(mask)
    torch.testing.assert_close(log_probs[mask], segments.gather(rollout.log_probs)[mask])


def test_a_gaussian_policy_in_pendulum_recomputes_its_log_probs_and_acts_in_bounds():
    torch.manual_seed(1)
    config = EnvironmentConfig(id="Pendulum-v1", observe=[0, 1], num_envs=2)
    envs = make_vector_environment(config)
    policy = Policy(PolicyConfig(kind="lstm", hidden_size=6), 2, ("continuous", 1))
    with torch.no_grad():
        policy.log_std.fill_(1.5)  # wide: many samples fall outside [-2, 2]
    collector = RolloutCollector(envs, policy, ObservationNormaliser(2), RewardScaler(2, 0.9),
                                 seed=0)  # fmt: skip
    rollout = collector.collect(12)
    assert rollout.actions.shape == (12, 2, 1)
    assert (rollout.actions.abs() > 2).any()  # the stored action is the sample, unclipped
    assert (np.abs(collector.env_action(rollout.actions[0])) <= 2).all()
    segments = cut_segments(rollout.starts, rollout.valid, 5)
    _, _, mask = segments.index()
    with torch.no_grad():
        features, _ = policy.features(
            segments.gather(rollout.observations), segments.initial_states(rollout.states),
            lengths=torch.as_tensor(segments.lengths),
        )  # fmt: skip
        log_probs = policy.distribution(features).log_prob(segments.gather(rollout.actions))
    mask = torch.as_tensor(mask)
    torch.testing.assert_close(log_probs[mask], segments.gather(rollout.log_probs)[mask])
