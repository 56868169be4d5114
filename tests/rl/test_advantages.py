"""GAE against a brute-force sum over each episode's future TD errors."""

import numpy as np
import pytest
import torch

from rnnlab.rl.advantages import gae


def random_rollout(rng, T, E):
    """Episode ends at random; the step after each end is the autoreset dummy (reward 0)."""
    ended = np.zeros((T, E), bool)
    terminated = np.zeros((T, E), bool)
    autoreset = np.zeros((T, E), bool)
    for e in range(E):
        for t in range(T):
            if autoreset[t, e]:
                continue
            if rng.random() < 0.15:
                ended[t, e] = True
                terminated[t, e] = rng.random() < 0.5
                if t + 1 < T:
                    autoreset[t + 1, e] = True
    rewards = np.where(autoreset, 0.0, rng.normal(size=(T, E)))
    values = torch.as_tensor(rng.normal(size=(T, E)), dtype=torch.float32)
    last = torch.as_tensor(rng.normal(size=E), dtype=torch.float32)
    return rewards, values, last, terminated, ended, ~autoreset


def brute_force(rewards, values, last, terminated, ended, valid, gamma, lam):
    T, E = rewards.shape
    v = np.concatenate([values.double().numpy(), last.double().numpy()[None]])
    advantages = np.zeros((T, E))
    for e in range(E):
        for t in range(T):
            if not valid[t, e]:
                continue
            total = 0.0
            for k in range(t, T):  # the TD errors of this episode from t on
                delta = rewards[k, e] + gamma * v[k + 1, e] * (not terminated[k, e]) - v[k, e]
                total += (gamma * lam) ** (k - t) * delta
                if ended[k, e]:
                    break
            advantages[t, e] = total
    return advantages


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("gamma", "lam"), [(0.99, 0.95), (0.98, 0.8), (1.0, 1.0), (0.9, 0.0)])
def test_gae_matches_the_brute_force_sum(seed, gamma, lam):
    rollout = random_rollout(np.random.default_rng(seed), 40, 5)
    assert rollout[4].any() and (~rollout[5]).any()  # episodes end, dummies occur
    advantages, returns = gae(*rollout, gamma, lam)
    expected = brute_force(*rollout, gamma, lam)
    np.testing.assert_allclose(advantages.numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(returns.numpy(), expected + rollout[1].numpy(), atol=1e-5)


def test_a_truncated_episode_bootstraps_from_the_last_observation_a_terminated_does_not():
    # One env: steps 0, 1 (ends), 2 (dummy: its value is V(last observation) = 10), 3.
    rewards = np.array([[1.0], [1.0], [0.0], [1.0]])
    values = torch.tensor([[0.0], [0.0], [10.0], [0.0]])
    last = torch.tensor([0.0])
    ended = np.array([[False], [True], [False], [False]])
    valid = np.array([[True], [True], [False], [True]])
    for terminal, expected in [(True, 1.0), (False, 1.0 + 0.5 * 10.0)]:
        terminated = ended & terminal
        advantages, _ = gae(rewards, values, last, terminated, ended, valid, 0.5, 1.0)
        assert advantages[1, 0].item() == pytest.approx(expected)
        assert advantages[2, 0].item() == 0.0  # the dummy trains nothing
        assert advantages[0, 0].item() == pytest.approx(1.0 + 0.5 * expected)
