"""The issue's CartPole target, trained in full: `pytest -m slow tests/rl/test_targets.py`.

CartPole-v1 with both velocities hidden, 100,000 environment steps per run: the GRU-64 policy
reaches a mean return >= 450 over 20 deterministic episodes on each of 3 seeds, the
feed-forward control stays <= 60, and the feed-forward policy on two stacked frames (the
velocities recoverable) reaches >= 450; the stretch: the GRU also with a budget of 50,000
steps. Minutes of CPU per run.
"""

from pathlib import Path

import pytest

from rnnlab.train.config import load_any_config
from rnnlab.train.policy_run import fit_policy_run
from rnnlab.train.run_directory import RunDirectory

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def train(tmp_path, name: str, seed: int, overrides: tuple[str, ...] = ()) -> float:
    config = load_any_config(EXAMPLES / f"{name}.toml", [f"ppo.seed={seed}", *overrides])
    result = fit_policy_run(RunDirectory.create(tmp_path / f"{name}-{seed}", config), config)
    return result.evaluation.mean_return


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gru_policy_balances_cartpole_without_velocities(tmp_path, seed):
    assert train(tmp_path, "cartpole_hidden_velocity", seed) >= 450


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stretch_by_50000_steps(tmp_path, seed):
    assert train(tmp_path, "cartpole_hidden_velocity", seed, ("ppo.total_steps=50000",)) >= 450


@pytest.mark.slow
def test_feedforward_control_cannot(tmp_path):
    assert train(tmp_path, "cartpole_hidden_velocity_ff", 0) <= 60


@pytest.mark.slow
def test_feedforward_on_two_frames_can(tmp_path):
    assert train(tmp_path, "cartpole_hidden_velocity_ff_stacked", 0) >= 450
