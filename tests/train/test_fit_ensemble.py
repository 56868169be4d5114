"""An ensemble trained by fit: every member ends where the same network trained alone ends."""

import pytest
import torch

from rnnlab.models.ensemble import Ensemble
from rnnlab.tasks.base import Split
from rnnlab.tasks.member_tasks import MemberTasks
from rnnlab.train.build import build, network_for
from rnnlab.train.config import parse_config
from rnnlab.train.trainer import fit
from rnnlab.train.validation import evaluate_split

SEEDS = [5, 6, 7]


JORDAN_OUTPUTS = {"jordan": {"output_size": 3}}  # a Jordan layer's context is its output


def config(kind="gru", **training):
    return parse_config({
        "model": {"kind": kind, "hidden_size": 6, **JORDAN_OUTPUTS.get(kind, {})},
        "task": {"name": "adding", "seq_len": 8, "num_train": 64, "num_val": 32, "num_test": 32},
        "training": {"max_steps": 200, "eval_every": 50, "log_every": 50, "lr": 0.01,
                     "batch_size": 16, **training},
    })  # fmt: skip


def float64_task(run_config):
    """The config's task with float64 inputs and targets."""
    task, _ = build(run_config)
    splits = {name: Split(s.x.double(), s.y.double(), s.mask, s.lengths)
              for name, s in task.splits().items()}  # fmt: skip
    task.splits = lambda: splits
    return task


def trained_alone(run_config, seed):
    task = float64_task(run_config)
    torch.manual_seed(seed)
    return fit(network_for(run_config, task).double(), task, run_config.training)


def trained_together(run_config):
    task = float64_task(run_config)
    ensemble = Ensemble(lambda: network_for(run_config, task), len(SEEDS), seeds=SEEDS)
    return fit(ensemble.double(), task, run_config.training)


def assert_members_equal(together, alone_results):
    for k, alone in enumerate(alone_results):
        for name, value in alone.network.state_dict().items():
            found = together.network.state_dict()[name][k]
            torch.testing.assert_close(found, value, rtol=0, atol=1e-12, msg=f"member {k} {name}")
        member = together.metrics["val_members"][k]
        assert member["val_loss"] == pytest.approx(alone.metrics["val_loss"], rel=1e-10, abs=0)


@pytest.mark.parametrize(
    "kind, training, path",
    [("gru", {}, "auto"), ("gru", {"clip_grad_norm": 0.05}, "reference"),
     ("elman", {}, "auto"),
     pytest.param("lstm", {}, "auto", marks=pytest.mark.slow),
     pytest.param("jordan", {}, "auto", marks=pytest.mark.slow)],
    ids=["gru_member_kernel", "gru_clipped_members_one_by_one", "elman_member_kernel",
         "lstm_member_kernel", "jordan_member_kernel"],
)  # fmt: skip
def test_member_k_after_200_updates_is_the_network_trained_alone(kind, training, path, monkeypatch):
    # Clipped at 0.05, this training amplifies rounding: two correct kernels that sum in
    # different orders (the member kernel's batched products, the single network's) differ by
    # 1e-14 after 120 updates, 2e-11 after 160 and 2e-8 after 200. So the clipped case runs
    # the members one by one and the network alone on the same (reference) path, where the
    # arithmetic is the same and only the per-member clipping differs.
    monkeypatch.setenv("RNNLAB_PATH", path)
    run_config = config(kind, **training)
    together = trained_together(run_config)
    x = torch.randn(2, 3, 2, dtype=torch.float64)  # the adding task: I = 2
    served = together.network.template.unroll_members(dict(together.network.named_parameters()), x)
    assert (served is not None) == (path == "auto")  # the member kernel, or one by one
    assert together.step == 200
    assert_members_equal(together, [trained_alone(run_config, seed) for seed in SEEDS])
    losses = [m["val_loss"] for m in together.metrics["val_members"]]
    assert together.metrics["val_loss"] == pytest.approx(sum(losses) / len(losses))


def test_members_that_reach_the_target_freeze_while_the_rest_go_on():
    free = config(max_steps=300, eval_every=10)
    histories = [
        [r["val_loss"] for r in trained_alone(free, seed).history if "val_loss" in r]
        for seed in SEEDS
    ]
    # A target that one member reaches first, another later and one maybe never.
    target = sorted(min(h) for h in histories)[1]
    run_config = config(max_steps=300, eval_every=10, stop_below=target * 1.0001)
    alone = [trained_alone(run_config, seed) for seed in SEEDS]
    reasons = [a.reason for a in alone]
    assert "target_reached" in reasons and len({a.step for a in alone}) > 1  # they differ
    together = trained_together(run_config)
    assert_members_equal(together, alone)
    expected = "target_reached" if set(reasons) == {"target_reached"} else "max_steps"
    assert together.reason == expected
    assert together.step == max(a.step for a in alone)


def seeded(run_config, seed):
    """The config with ``seed`` for its task's data and its training's batch order."""
    return parse_config({
        "model": run_config.model.model_dump(),
        "task": {**run_config.task.model_dump(), "seed": seed},
        "training": {**run_config.training.model_dump(), "seed": seed},
    })  # fmt: skip


@pytest.mark.parametrize("kind", ["gru", pytest.param("elman", marks=pytest.mark.slow)])
def test_members_with_data_of_their_own_are_each_the_network_of_that_seed(kind):
    # A replication over seeds: seed k draws the data, the batch order and the weights of
    # subject k. As one ensemble on MemberTasks, member k is that network.
    base = config(kind, max_steps=120, eval_every=40)
    configs = [seeded(base, seed) for seed in SEEDS]
    tasks = [float64_task(c) for c in configs]
    assert not tasks[0].splits()["train"].x.equal(tasks[1].splits()["train"].x)  # own data
    alone = [trained_alone(c, seed) for c, seed in zip(configs, SEEDS)]
    ensemble = Ensemble(lambda: network_for(base, tasks[0]), len(SEEDS), seeds=SEEDS).double()
    together = fit(ensemble, MemberTasks(tasks, SEEDS), base.training)
    assert together.step == 120
    assert_members_equal(together, alone)
    test = evaluate_split(together.network, MemberTasks(tasks, SEEDS),
                          MemberTasks(tasks, SEEDS).splits()["test"])  # fmt: skip
    for k, network in enumerate(a.network for a in alone):
        expected = evaluate_split(network, tasks[k], tasks[k].splits()["test"])
        assert test["members"][k]["loss"] == pytest.approx(expected["loss"], rel=1e-10, abs=0)


def test_member_tasks_that_do_not_agree_are_refused():
    short, long = config(), config()
    long = parse_config({**{k: getattr(short, k).model_dump() for k in ("model", "training")},
                         "task": {**short.task.model_dump(), "seq_len": 9}})  # fmt: skip
    tasks = [build(short)[0], build(long)[0]]
    ensemble = Ensemble(lambda: network_for(short, tasks[0]), 2)
    with pytest.raises(ValueError, match=r"the members' batches must have one shape"):
        fit(ensemble, MemberTasks(tasks, [0, 1]), short.training)
    with pytest.raises(ValueError, match="one seed per task; got 2 tasks and 1 seeds"):
        MemberTasks(tasks, [0])
    with pytest.raises(ValueError, match="MemberTasks of 2 members train an Ensemble of as many"):
        fit(Ensemble(lambda: network_for(short, tasks[0]), 3), MemberTasks(tasks, [0, 1]),
            short.training)  # fmt: skip
