"""The trainer: determinism, truncated BPTT, numerical faults, resume bit for bit."""

import pytest
import torch

from rnnlab.train.bptt import detach_state, plan_epoch
from rnnlab.train.build import build
from rnnlab.train.checkpoint import list_checkpoints, load_checkpoint
from rnnlab.train.config import parse_config
from rnnlab.train.loop import OnStep
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.trainer import TrainingDivergedError, fit_run

TIMING = ("wall_time", "tokens_per_s")


def config(model=None, task=None, **training):
    return parse_config(
        {
            "model": model or {"kind": "elman", "hidden_size": 8, "nonlinearity": "sigmoid"},
            "task": task or {"name": "letters", "num_consonants": 60},
            "training": {
                "max_steps": 30,
                "eval_every": 10,
                "log_every": 5,
                "checkpoint_every": 10,
                "lr": 0.01,
                "batch_size": 4,
                "bptt": "truncated",
                "chunk_length": 10,
                **training,
            },
        }
    )


def train(tmp_path, name, run_config, **options):
    run = RunDirectory.create(tmp_path / name, run_config)
    result = fit_run(run, run_config, **options)
    return run, result


def final_weights(run):
    return load_checkpoint(run.checkpoints).model_state


def metrics_without_timing(run):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in run.read_metrics()]


@pytest.mark.parametrize(
    "model",
    [
        {"kind": "elman", "hidden_size": 8},
        {"kind": "lstm", "hidden_size": 6, "num_layers": 2, "dropout": 0.3},
    ],
    ids=["elman", "lstm_dropout"],
)
def test_same_seed_same_run_other_seed_other_run(tmp_path, model):
    first, _ = train(tmp_path, "a", config(model=model, seed=3))
    again, _ = train(tmp_path, "b", config(model=model, seed=3))
    other, _ = train(tmp_path, "c", config(model=model, seed=4))
    a, b, c = final_weights(first), final_weights(again), final_weights(other)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert metrics_without_timing(first) == metrics_without_timing(again)
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("kind", ["elman", "lstm"])
def test_truncated_bptt_with_full_length_chunks_equals_full_bptt(tmp_path, kind):
    """Chunks as long as the sequences: the same updates, values and gradients as full BPTT."""
    task = {"name": "adding", "seq_len": 12, "num_train": 32, "num_val": 8, "num_test": 8}
    model = {"kind": kind, "hidden_size": 5}
    full = config(model=model, task=task, bptt="full", chunk_length=None, batch_size=8, max_steps=8)
    chunked = config(model=model, task=task, chunk_length=12, batch_size=8, max_steps=8)
    a, b = (
        final_weights(train(tmp_path, "full", full)[0]),
        final_weights(train(tmp_path, "tbptt", chunked)[0]),
    )
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert metrics_without_timing(RunDirectory(tmp_path / "full")) == metrics_without_timing(
        RunDirectory(tmp_path / "tbptt")
    )


def test_truncated_bptt_carries_values_but_cuts_gradients():
    """Chunk by chunk with detach_state: the same values as one pass, gradients cut at the edge."""
    run_config = config(model={"kind": "gru", "hidden_size": 4})
    task, network = build(run_config)
    x = task.splits()["train"].x[:, :20]
    whole, _ = network(x)
    first, state = network(x[:, :10])
    carried = detach_state(state)
    second, _ = network(x[:, 10:], carried)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, atol=0, rtol=0)
    assert not carried.requires_grad and state.requires_grad
    # The loss of the second chunk reaches the first chunk's inputs only without the detach.
    x = x.clone().requires_grad_()
    _, state = network(x[:, :10])
    network(x[:, 10:], detach_state(state))[0].sum().backward()
    assert x.grad[:, :10].abs().sum() == 0
    x.grad = None
    _, state = network(x[:, :10])
    network(x[:, 10:], state)[0].sum().backward()
    assert x.grad[:, :10].abs().sum() > 0


def test_plan_of_a_stream_keeps_order_and_resets_once_per_epoch():
    task, _ = build(config())
    split = task.splits()["train"]
    units = plan_epoch(split, True, 4, "truncated", 10, torch.Generator().manual_seed(0))
    assert [u.reset for u in units] == [True] + [False] * (len(units) - 1)
    length = split.x.shape[1] // 4
    streams = torch.cat([u.x for u in units], dim=1)  # (4, length, 6)
    torch.testing.assert_close(streams, split.x[0, : 4 * length].reshape(4, length, 6))
    online = plan_epoch(split, True, 1, "online", None, torch.Generator())
    assert len(online) == split.x.shape[1] and all(u.x.shape[1] == 1 for u in online)


def test_online_updates_after_every_step(tmp_path):
    run, result = train(
        tmp_path, "online", config(bptt="online", chunk_length=None, batch_size=1, max_steps=25)
    )
    assert result.step == 25
    assert [r["step"] for r in run.read_metrics() if "loss" in r] == [5, 10, 15, 20, 25]


def inject_nan_at(step):
    def callback(loop):
        if loop.state.step == step:
            with torch.no_grad():
                loop.network.layer.weight_hh_l0.fill_(float("nan"))

    return OnStep(callback)


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    run_config = config()
    run = RunDirectory.create(tmp_path / "nan", run_config)
    with pytest.raises(
        TrainingDivergedError,
        match=r"training stopped at step 13: the loss is nan .* "
        r"last good checkpoint is step-00000010",
    ):
        fit_run(run, run_config, callbacks=[inject_nan_at(12)])
    assert list_checkpoints(run.checkpoints) == ["step-00000010"]
    weights = load_checkpoint(run.checkpoints).model_state
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_nan_can_be_skipped_and_counted(tmp_path):
    run_config = config(on_nonfinite="skip", max_steps=20)
    run, result = train(tmp_path, "skip", run_config, callbacks=[inject_nan_at(12)])
    assert result.step == 20
    assert run.read_metrics()[-2]["skipped"] == 8  # every batch after the weights turned NaN


NOISY_CTRNN = {"kind": "ctrnn", "hidden_size": 8, "sigma_rec": 0.3, "sigma_in": 0.1, "seed": 5,
               "dale": True, "noise_in_eval": True}  # fmt: skip


@pytest.mark.parametrize("model", [None, NOISY_CTRNN], ids=["elman", "ctrnn_own_noise"])
def test_interrupt_then_resume_equals_one_run(tmp_path, model):
    # The CTRNN draws its noise from a generator of its own, which the checkpoint keeps.
    run_config = config(model=model, max_steps=40)
    whole, _ = train(tmp_path, "whole", run_config)
    run = RunDirectory.create(tmp_path / "parts", run_config)
    stop = iter([False] * 16 + [True])
    result = fit_run(run, run_config, should_stop=lambda: next(stop))
    assert result.reason == "interrupted" and result.step == 17
    result = fit_run(run, run_config, resume=True)
    assert result.reason == "max_steps"
    a, b = final_weights(whole), final_weights(run)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert metrics_without_timing(whole) == metrics_without_timing(run)
    assert fit_run(run, run_config, resume=True).reason == "already_finished"


def test_early_stopping_ends_the_run(tmp_path):
    run_config = config(lr=1e-9, max_steps=500, early_stopping_patience=2, eval_every=5)
    _, result = train(tmp_path, "early", run_config)
    assert result.reason == "early_stopping" and result.step < 500


def test_stop_below_ends_the_run_at_the_first_validation_under_the_target(tmp_path):
    run_config = config(lr=0.05, max_steps=500, eval_every=5, stop_below=2.0)
    run, result = train(tmp_path, "target", run_config)
    validations = [r["val_loss"] for r in run.read_metrics() if "val_loss" in r]
    assert result.reason == "target_reached" and result.step < 500
    assert validations[-1] < 2.0 and all(v >= 2.0 for v in validations[:-1])


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop"])
def test_every_optimizer_and_schedule_lowers_the_loss(tmp_path, optimizer):
    momentum = 0.9 if optimizer in ("sgd", "rmsprop") else 0.0
    lr = {"sgd": 0.5, "adam": 0.02, "adamw": 0.02, "rmsprop": 0.005}[optimizer]
    run_config = config(
        optimizer=optimizer,
        momentum=momentum,
        lr=lr,
        schedule="cosine",
        warmup_steps=5,
        max_steps=60,
        eval_every=60,
        clip_grad_norm=5.0,
    )
    run, _ = train(tmp_path, optimizer, run_config)
    losses = [r["loss"] for r in run.read_metrics() if "loss" in r]
    assert losses[-1] < 0.8 * losses[0]
    lrs = [r["lr"] for r in run.read_metrics() if "lr" in r]
    assert lrs[-1] < lrs[1]  # the cosine schedule decays


def test_scheduled_sampling_feeds_back_predictions():
    _, network = build(config())
    x = torch.rand(2, 7, 6)
    torch.testing.assert_close(
        network.forward_scheduled(x, None, 1.0, "sigmoid_mse")[0], network(x)[0]
    )
    # With no teacher forcing, each input after the first is the previous prediction.
    outputs, _ = network.forward_scheduled(x, None, 0.0, "sigmoid_mse")
    fed = torch.cat([x[:, :1], torch.sigmoid(outputs[:, :-1])], dim=1)
    torch.testing.assert_close(outputs, network(fed)[0])


def test_scheduled_sampling_trains_and_needs_a_next_step_task(tmp_path):
    from rnnlab.errors import ConfigError

    _, forced = train(tmp_path, "forced", config(teacher_forcing=1.0, max_steps=10))
    _, sampled = train(tmp_path, "sampled", config(teacher_forcing=0.5, max_steps=10))
    assert forced.metrics["val_loss"] != sampled.metrics["val_loss"]
    adding = {"name": "adding", "seq_len": 5, "num_train": 8, "num_val": 4, "num_test": 4}
    with pytest.raises(ConfigError, match="task 'adding' is not one"):
        build(config(task=adding, teacher_forcing=0.5))


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("constant", [0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0]),
        ("step", [0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 0.5, 0.5]),
        ("cosine", [0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.0, 0.0]),
    ],
)
def test_learning_rate_schedules_with_warmup(schedule, expected):
    from rnnlab.train.optim import lr_factor

    training = config(
        schedule=schedule, warmup_steps=4, step_size=2, gamma=0.5, max_steps=6
    ).training
    got = [lr_factor(step, training) for step in range(8)]
    assert got == pytest.approx(expected, abs=1e-12)


def test_tensorboard_without_the_package_is_a_clear_error(tmp_path):
    import importlib.util

    from rnnlab.errors import ConfigError

    if importlib.util.find_spec("tensorboard") is not None:
        pytest.skip("tensorboard is installed here")
    with pytest.raises(ConfigError, match="needs the tensorboard package"):
        train(tmp_path, "tb", config(tensorboard=True))


def test_label_smoothing_mixes_a_uniform_target_into_the_cross_entropy():
    from rnnlab.losses import masked_loss

    torch.manual_seed(0)
    outputs, y = torch.randn(2, 3, 5, dtype=torch.float64), torch.randint(0, 5, (2, 3))
    mask = torch.tensor([[True, True, False], [True, False, False]])
    log_p = torch.log_softmax(outputs, -1)[mask]  # (3, 5)
    chosen = -log_p.gather(1, y[mask][:, None])[:, 0]
    expected = (0.9 * chosen + 0.1 * -log_p.mean(-1)).mean()
    smoothed = masked_loss(outputs, y, mask, "cross_entropy", label_smoothing=0.1)
    torch.testing.assert_close(smoothed, expected)


def test_label_smoothing_needs_a_classification_task():
    from rnnlab.errors import ConfigError

    with pytest.raises(ConfigError, match="label_smoothing applies to classification"):
        build(config(task={"name": "adding", "seq_len": 10, "num_train": 8}, label_smoothing=0.1))


def test_max_minutes_stops_the_run_with_a_final_validation_and_checkpoint(tmp_path):
    run_config = config(max_steps=500, eval_every=100, max_minutes=1e-6)
    run, result = train(tmp_path, "timed", run_config)
    assert result.reason == "max_minutes" and result.step == 1
    assert "val_loss" in result.metrics
    checkpoint = load_checkpoint(run.checkpoints)
    assert checkpoint.meta["state"]["seconds"] > 0
    assert fit_run(run, run_config, resume=True).reason == "already_finished"


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_the_parallel_scan_kinds_train_from_a_config_with_a_carried_state(tmp_path, kind):
    run_config = config(model={"kind": kind, "hidden_size": 16, "num_layers": 2},
                        optimizer="adam", lr=0.02, max_steps=60)  # fmt: skip
    _, network = build(run_config)
    assert type(network.layer).__name__ == {"mingru": "MinGRU", "minlstm": "MinLSTM"}[kind]
    run, result = train(tmp_path, kind, run_config)
    losses = [r["loss"] for r in run.read_metrics() if "loss" in r]
    assert result.reason == "max_steps" and losses[-1] < 0.8 * losses[0]
