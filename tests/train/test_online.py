"""The fused online loop agrees with the plain trainer, update by update."""

import re

import pytest
import torch

import rnnlab
from rnnlab.cells import ELMAN_SPEC
from rnnlab.layers import RecurrentLayer
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


def test_any_layer_of_elmans_cell_spec_is_served_as_rnnlab_elman():
    """The loop serves a cell spec, not a class: a RecurrentLayer of ELMAN_SPEC trains exactly
    as the rnnlab.Elman with the same weights."""
    torch.manual_seed(0)
    elman = rnnlab.Elman(2, 3, nonlinearity="sigmoid", dtype=torch.float64)
    layer = RecurrentLayer(ELMAN_SPEC, 2, 3, nonlinearity="sigmoid", dtype=torch.float64)
    layer.load_state_dict(elman.state_dict())
    readouts = [torch.nn.Linear(3, 1, dtype=torch.float64) for _ in range(2)]
    readouts[1].load_state_dict(readouts[0].state_dict())
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(50, 2, dtype=torch.float64, generator=generator)
    y = torch.rand(50, 1, dtype=torch.float64, generator=generator)
    want, _ = train_online(elman, readouts[0], x, y, lr=0.5, momentum=0.9)
    got, _ = train_online(layer, readouts[1], x, y, lr=0.5, momentum=0.9)
    assert (got == want).all() and got.std() > 0
    trained = [*layer.parameters(), *readouts[1].parameters()]
    assert all(
        torch.equal(a, b) for a, b in zip(trained, [*elman.parameters(), *readouts[0].parameters()])
    )


@pytest.mark.parametrize(
    ("make", "readout_bias", "message"),
    [
        (lambda: rnnlab.GRU(2, 3), True, "the Elman cell spec; got a layer of the GRU cell spec"),
        (lambda: rnnlab.Jordan(2, 3, 1), True, "got a layer of the Jordan cell spec"),
        (lambda: torch.nn.RNN(2, 3), True, "got RNN, which has no cell spec"),
        (lambda: rnnlab.Elman(2, 3, 2), True, "one layer in one direction; got num_layers=2, "),
        (lambda: rnnlab.Elman(2, 3, bidirectional=True), True, "bidirectional=True"),
        (lambda: rnnlab.Elman(2, 3, bias=False), True, "got a layer with bias=False"),
        (lambda: rnnlab.Elman(2, 3), False, "got a readout without one"),
    ],
    ids=["gru", "jordan", "torch_rnn", "two_layers", "bidirectional", "no_bias", "readout"],
)
def test_what_the_loop_cannot_serve_is_an_error_naming_need_and_got(make, readout_bias, message):
    layer, readout = make(), torch.nn.Linear(3, 1, bias=readout_bias)
    before = [p.clone() for p in [*layer.parameters(), *readout.parameters()]]
    with pytest.raises(ValueError, match=r"^train_online needs .*" + re.escape(message)):
        train_online(layer, readout, torch.zeros(4, 2), torch.zeros(4, 1), lr=0.1)
    after = [*layer.parameters(), *readout.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(after, before))  # refused before any update
