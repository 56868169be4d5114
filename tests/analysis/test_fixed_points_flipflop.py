"""The whole path on the 3-bit flip-flop: a GRU trained with rnnlab's trainer holds each memory
state in its own attractor, which the fixed-point finder recovers from states along its own
trajectories under zero input (Sussillo & Barak 2013; FixedPointFinder's flip-flop example).

Measured when this test was written (2 cores, niced): 400 updates (about 8 s) reach a
validation MSE below 1e-3, every sign right on the test trials; from 512 starts the finder
(about 2-4 s) returns 21 converged points: 8 stable ones, one per memory state, whose readouts
are within 0.02 of the pattern, 9 index-1 saddles and 4 with two unstable modes."""

import copy

import pytest
import torch

from rnnlab.analysis.fixed_points import find_fixed_points, sample_states, trajectories
from rnnlab.tasks.flipflop import memory_patterns
from rnnlab.train.build import build
from rnnlab.train.config import parse_config
from rnnlab.train.trainer import fit
from rnnlab.train.validation import evaluate_split

CONFIG = {
    "model": {"kind": "gru", "hidden_size": 24},
    "task": {"name": "flipflop", "seq_len": 64, "pulse_probability": 0.2, "num_train": 512,
             "num_val": 128, "num_test": 256, "seed": 0},
    "training": {"optimizer": "adam", "lr": 0.01, "batch_size": 64, "clip_grad_norm": 1.0,
                 "max_steps": 3000, "eval_every": 50, "log_every": 50, "seed": 0,
                 "stop_below": 1e-3},
}  # fmt: skip


# The flip-flop replication's quick test trains and checks the same in the default run.
@pytest.mark.slow
def test_a_trained_gru_has_one_attractor_per_memory_state():
    config = parse_config(CONFIG)
    task, network = build(config)
    result = fit(network, task, config.training)
    assert result.reason == "target_reached"
    test = evaluate_split(result.network, task, task.splits()["test"])
    assert test["accuracy"] > 0.99 and test["held_accuracy"] > 0.99

    layer = copy.deepcopy(result.network.layer).double()
    weight = result.network.readout.weight.detach().double()
    bias = result.network.readout.bias.detach().double()
    states = trajectories(layer, task.splits()["val"].x.double())  # (128, 64, H)
    starts = sample_states(states, 512, seed=0)
    zero = torch.zeros(3, dtype=torch.float64)
    fps = find_fixed_points(layer, zero, starts, max_speed=1e-14)
    stable = fps.stable
    readouts = torch.from_numpy(stable.part("h")) @ weight.T + bias  # (K, 3)
    patterns = memory_patterns(3).double()
    assert {tuple(r) for r in torch.sign(readouts).tolist()} == {
        tuple(p) for p in patterns.tolist()
    }, fps.summary()
    nearest = (readouts[:, None] - patterns[None]).abs().amax(-1).amin(-1)  # (K,)
    assert float(nearest.max()) <= 0.2, fps.summary()
    assert len(stable) <= 10, fps.summary()
    assert int((fps.unstable_modes == 1).sum()) >= 6, fps.summary()
