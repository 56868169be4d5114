"""fit(network, task, training, run=None, callbacks=()): any module in, the trained module out."""

import pytest
import torch
from torch import nn

from rnnlab.train.build import build
from rnnlab.train.checkpoint import load_checkpoint
from rnnlab.train.config import parse_config
from rnnlab.train.loop import OnStep
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.trainer import fit, fit_run

TRAINING = {"max_steps": 20, "eval_every": 10, "log_every": 5, "checkpoint_every": 10,
            "lr": 0.01, "batch_size": 16}  # fmt: skip


def adding_config(**model):
    return parse_config({
        "model": {"kind": "gru", "hidden_size": 6, **model},
        "task": {"name": "adding", "seq_len": 12, "num_train": 64, "num_val": 32, "num_test": 32},
        "training": TRAINING,
    })  # fmt: skip


def test_fit_returns_the_trained_network_that_the_run_checkpointed(tmp_path):
    config = adding_config()
    run = RunDirectory.create(tmp_path / "run", config)
    with_run = fit_run(run, config)
    task, network = build(config)
    before = {k: v.clone() for k, v in network.state_dict().items()}
    result = fit(network, task, config.training)  # no run: nothing written
    assert result.network is network
    assert result.reason == "max_steps" and result.step == 20
    saved = load_checkpoint(run.checkpoints).model_state
    for name, value in network.state_dict().items():
        assert torch.equal(value, saved[name]), name  # the same run, bit for bit
        assert not torch.equal(value, before[name]), name  # and it did train
    assert torch.equal(with_run.network.state_dict()["readout.weight"], saved["readout.weight"])
    assert [r for r in result.history if "val_loss" in r]
    assert result.metrics == with_run.metrics


class TorchGRUNetwork(nn.Module):
    """A user's own module, not an rnnlab class: torch.nn.GRU and a linear readout, called as
    ``outputs, state = network(x, state, lengths)``."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, output_size)

    def forward(self, x, state=None, lengths=None):
        assert lengths is None  # the adding task has no padding
        hidden, state = self.gru(x, state)
        return self.readout(hidden), state


def test_a_user_module_trains_with_fit_as_the_rnnlab_network_it_copies():
    config = adding_config()
    task, network = build(config)  # rnnlab: a GRU layer and a readout
    mine = TorchGRUNetwork(task.input_size, 6, task.output_size)
    mine.load_state_dict({k.replace("layer.", "gru."): v for k, v in network.state_dict().items()})
    theirs = fit(network, task, config.training)
    ours = fit(mine, task, config.training)
    assert ours.network is mine and ours.step == theirs.step == 20
    for name, value in network.state_dict().items():
        trained = mine.state_dict()[name.replace("layer.", "gru.")]
        torch.testing.assert_close(trained, value, atol=1e-5, rtol=1e-4, msg=name)
    first = next(r["val_loss"] for r in ours.history if "val_loss" in r)
    assert ours.metrics["val_loss"] == pytest.approx(theirs.metrics["val_loss"], rel=1e-4)
    assert first > 0


def test_fit_refuses_what_is_not_a_module_and_resume_without_a_run():
    config = adding_config()
    task, network = build(config)
    with pytest.raises(TypeError, match=r"network must be a torch\.nn\.Module; got function"):
        fit(lambda x: x, task, config.training)
    with pytest.raises(ValueError, match=r"resume=True continues from a run.s checkpoints"):
        fit(network, task, config.training, resume=True)


def test_callbacks_see_every_update():
    config = adding_config()
    task, network = build(config)
    seen = []
    fit(network, task, config.training, callbacks=[OnStep(lambda loop: seen.append(
        (loop.state.step, loop.network is network)))])  # fmt: skip
    assert seen == [(step, True) for step in range(1, 21)]
