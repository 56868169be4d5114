"""Environments with hidden state: masks, frame stacks and one-hot observations."""

import numpy as np
import pytest

from rnnlab.rl.config import EnvironmentConfig
from rnnlab.rl.environments import make_environment


def test_cartpole_without_velocities_sees_position_and_angle_only():
    full = make_environment(EnvironmentConfig(id="CartPole-v1"))
    hidden = make_environment(EnvironmentConfig(id="CartPole-v1", observe=[0, 2]))
    a, _ = full.reset(seed=3)
    b, _ = hidden.reset(seed=3)
    assert hidden.observation_space.shape == (2,)
    np.testing.assert_array_equal(b, a[[0, 2]])
    for action in [0, 1, 1, 0, 1]:
        a = full.step(action)[0]
        b = hidden.step(action)[0]
        np.testing.assert_array_equal(b, a[[0, 2]])


def test_pendulum_without_angular_velocity():
    env = make_environment(EnvironmentConfig(id="Pendulum-v1", observe=[0, 1]))
    observation, _ = env.reset(seed=0)
    assert observation.shape == (2,)
    np.testing.assert_allclose(observation[0] ** 2 + observation[1] ** 2, 1.0, rtol=1e-5)


def test_two_stacked_frames_hold_the_last_two_observations():
    env = make_environment(EnvironmentConfig(id="CartPole-v1", observe=[0, 2], frame_stack=2))
    first, _ = env.reset(seed=0)
    second = env.step(1)[0]
    assert second.shape == (4,)
    np.testing.assert_array_equal(second[:2], first[2:])  # the older frame comes first


def test_popgym_cards_are_one_hot():
    pytest.importorskip("popgym")
    env = make_environment(EnvironmentConfig(id="popgym-RepeatPreviousEasy-v0"))
    observation, _ = env.reset(seed=0)
    assert observation.shape == (4,) and observation.sum() == 1 and set(observation) <= {0, 1}
