"""The callbacks around fit's updates: which events come, in which order, and what they can do."""

import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.train.build import build
from rnnlab.train.callbacks import Checkpoints, EarlyStopping, StopWhen, Validation
from rnnlab.train.checkpoint import list_checkpoints, load_checkpoint
from rnnlab.train.config import parse_config
from rnnlab.train.loop import Callback, OnStep
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.trainer import fit


def adding_config(**training):
    return parse_config({
        "model": {"kind": "gru", "hidden_size": 6},
        "task": {"name": "adding", "seq_len": 12, "num_train": 64, "num_val": 32, "num_test": 32},
        "training": {"max_steps": 20, "eval_every": 10, "log_every": 5, "checkpoint_every": 10,
                     "lr": 0.01, "batch_size": 16, **training},
    })  # fmt: skip


class Events(Callback):
    """Writes down every event with the step it came at."""

    def __init__(self):
        self.seen = []

    def on_start(self, loop):
        self.seen.append(("start", loop.state.step))

    def on_step(self, loop):
        self.seen.append(("step", loop.state.step))

    def on_record(self, loop, record):
        self.seen.append(("val_record" if "val_loss" in record else "record", record["step"]))

    def on_validation(self, loop, metrics):
        self.seen.append(("validation", loop.state.step))

    def on_epoch(self, loop):
        self.seen.append(("epoch", loop.state.epoch))

    def on_end(self, loop):
        self.seen.append(("end", loop.state.step))


def test_every_event_in_order():
    config = adding_config()
    task, network = build(config)
    events = Events()
    fit(network, task, config.training, callbacks=[events])
    expected = [("start", 0)]
    for step in range(1, 21):
        if step % 5 == 0:
            expected.append(("record", step))
        expected.append(("step", step))  # the user's callbacks act before the validation
        if step % 10 == 0:
            expected += [("val_record", step), ("validation", step)]
        if step % 4 == 0:  # 64 sequences in batches of 16: an epoch every 4 updates
            expected.append(("epoch", step // 4))
    expected.append(("end", 20))
    assert events.seen == expected


def test_the_standard_callbacks_follow_the_config(tmp_path):
    from rnnlab.train.callbacks import standard_callbacks

    def kinds(training, run):
        return [type(c) for c in standard_callbacks(training, run, [Events()], lambda: False)]

    assert kinds(adding_config().training, None) == [Events, Validation, StopWhen]
    run = RunDirectory.create(tmp_path / "run", adding_config())
    assert kinds(adding_config(early_stopping_patience=2).training, run) == [
        Events, Validation, EarlyStopping, StopWhen, Checkpoints,
    ]  # fmt: skip


def test_a_callback_that_ends_training_gets_a_validation_and_a_checkpoint(tmp_path):
    config = adding_config()
    run = RunDirectory.create(tmp_path / "run", config)
    task, network = build(config)

    class EndAtSeven(Callback):
        def on_step(self, loop):
            if loop.state.step == 7:
                loop.state.finished = "enough"

    result = fit(network, task, config.training, run, [EndAtSeven()])
    assert (result.reason, result.step) == ("enough", 7)
    assert [r["step"] for r in run.read_metrics() if "val_loss" in r] == [7]
    assert result.metrics == {k: v for k, v in run.read_metrics()[-1].items() if k[:4] == "val_"}
    assert list_checkpoints(run.checkpoints)[-1] == "step-00000007"
    assert load_checkpoint(run.checkpoints).meta["state"]["finished"] == "enough"


def test_early_stopping_as_a_callback_stops_where_the_metric_stops_improving():
    config = adding_config(max_steps=200, eval_every=2, early_stopping_patience=2)
    task, network = build(config)
    result = fit(network, task, config.training)
    losses = [r["val_loss"] for r in result.history if "val_loss" in r]
    best = [min(losses[: k + 1]) for k in range(len(losses))]
    since = 0  # validations since the best, computed here from the logged losses
    for k in range(1, len(losses)):
        since = 0 if losses[k] < best[k - 1] else since + 1
        if since == 2:
            break
    assert result.reason == "early_stopping" and len(losses) == k + 1


def test_an_unknown_early_stopping_metric_names_the_measured_ones():
    config = adding_config(early_stopping_patience=2, early_stopping_metric="val_bleu")
    task, network = build(config)
    with pytest.raises(ConfigError, match=r"'val_bleu' is not measured .*valid: val_loss"):
        fit(network, task, config.training)


def test_callbacks_must_be_callback_objects():
    config = adding_config()
    task, network = build(config)
    with pytest.raises(TypeError, match=r"must be rnnlab\.train\.Callback .*got function"):
        fit(network, task, config.training, callbacks=[lambda loop: None])


def test_on_step_sees_the_weights_of_the_update():
    config = adding_config(max_steps=3)
    task, network = build(config)
    seen = []
    fit(network, task, config.training, callbacks=[OnStep(lambda loop: seen.append(
        loop.network.readout.weight.detach().clone()))])  # fmt: skip
    assert len(seen) == 3 and not torch.equal(seen[0], seen[1])
    assert torch.equal(seen[-1], network.readout.weight)
