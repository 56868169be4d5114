"""The fused online loop agrees with the plain trainer, update by update."""

import pytest
import torch

from rnnlab.tasks.temporal_xor import xor_stream
from rnnlab.train.build import build
from rnnlab.train.config import parse_config
from rnnlab.train.loop import OnStep
from rnnlab.train.online import train_online
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.trainer import fit_run


def online_config(nonlinearity, momentum, steps, dtype_hidden=3):
    return parse_config(
        {
            "model": {"kind": "elman", "hidden_size": dtype_hidden, "nonlinearity": nonlinearity},
            "task": {"name": "letters", "num_consonants": 30},
            "training": {"optimizer": "sgd", "lr": 0.5, "momentum": momentum, "bptt": "online",
                         "batch_size": 1, "max_steps": steps, "eval_every": 1000,
                         "checkpoint_every": 1000, "seed": 1},
        }
    )  # fmt: skip


@pytest.mark.parametrize("momentum", [0.0, 0.9], ids=["sgd", "momentum"])
@pytest.mark.parametrize("nonlinearity", ["sigmoid", "tanh", "relu"])
def test_fused_online_loop_matches_the_trainer_update_by_update(tmp_path, nonlinearity, momentum):
    steps = 40
    config = online_config(nonlinearity, momentum, steps)
    snapshots = []

    def record(loop):
        snapshots.append([p.detach().clone() for p in loop.network.parameters()])

    run = RunDirectory.create(tmp_path / "run", config)
    fit_run(run, config, callbacks=[OnStep(record)])
    task, network = build(config)
    stream = task.splits()["train"]
    state = None
    for t in range(steps):
        _, state = train_online(
            network.layer, network.readout, stream.x[0, t : t + 1], stream.y[0, t : t + 1],
            lr=0.5, momentum=momentum, state=state,
        )  # fmt: skip
        for got, want in zip(network.parameters(), snapshots[t]):
            torch.testing.assert_close(got.detach(), want, atol=2e-6, rtol=1e-5, msg=f"step {t}")


def test_fused_online_temporal_xor_learns_the_predictable_bit():
    """Elman's 1-2-1 network, 3,000 bits, 600 passes: 1.8 million updates (under a second
    here; the timing is in bench/, not a test)."""
    config = parse_config({"model": {"kind": "elman", "hidden_size": 2, "nonlinearity": "sigmoid"},
                           "task": {"name": "temporal_xor"}})  # fmt: skip
    _, network = build(config)
    bits = xor_stream(1000, torch.Generator().manual_seed(0))
    x, y = bits[:-1, None], bits[1:, None]
    state = None
    for _ in range(600):
        losses, state = train_online(network.layer, network.readout, x, y, lr=0.3, state=state)
    is_xor_bit = torch.arange(1, len(losses) + 1) % 3 == 2  # the target of input t is bit t + 1
    xor_error, other_error = losses[is_xor_bit.numpy()].mean(), losses[~is_xor_bit.numpy()].mean()
    assert xor_error < 0.8 * other_error, (xor_error, other_error)
    assert other_error > 0.24  # the random bits stay unpredictable
