"""The Munakata et al. (1997) replication: the two-headed network (gating, gradients, the
ensemble's member kernel), the measures against a brute-force reading of every event, the
criterion epochs and checks on made-up curves, and a tiny run that writes every output. The
full study and its --quick are commands (the README gives their numbers)."""

import json
import pickle
from dataclasses import replace

import numpy as np
import pytest
import torch

from rnnlab.experiments.munakata1997 import run, summarise
from rnnlab.experiments.munakata1997.development import Condition
from rnnlab.experiments.munakata1997.measures import (
    MEASURES,
    RESPONSE_THRESHOLD,
    MatchedIndex,
    criterion_epochs,
    first_epoch,
    measure,
)
from rnnlab.experiments.munakata1997.network import LookReachNetwork
from rnnlab.losses import masked_loss
from rnnlab.models.ensemble import Ensemble
from rnnlab.tasks.occlusion_events import OcclusionEventsConfig, matched_test_events, tensors

CONFIG = OcclusionEventsConfig()
K = CONFIG.positions


def test_the_reach_head_answers_and_learns_only_within_reach():
    torch.manual_seed(0)
    network = LookReachNetwork(K, 15)
    events = matched_test_events(CONFIG)[:40]
    split = tensors(events, CONFIG)
    outputs, _ = network(split.x)
    within = split.x[..., 2 * K] == 1  # (B, T)
    assert (outputs[..., 2 * K :][~within] == 0).all()  # resting: logistic 0.5, the target
    loss = masked_loss(outputs, split.y, None, "sigmoid_mse")
    grad = torch.autograd.grad(loss, network.reach.weight)[0]
    # by hand: the reach units' squared error at the reach steps only, as the mean of the loss
    # over every output of every step weighs it
    hidden, _ = network.hidden(split.x)
    reach = torch.sigmoid(network.reach(hidden[within]))  # (steps, K)
    by_hand = ((reach - split.y[..., 2 * K :][within]) ** 2).sum() / split.y.numel()
    expected = torch.autograd.grad(by_hand, network.reach.weight)[0]
    torch.testing.assert_close(grad, expected)


def test_the_ensemble_runs_the_members_on_the_member_kernel_as_one_by_one():
    ensemble = Ensemble(lambda: LookReachNetwork(K, 15), 3, seeds=[0, 1, 2])
    x = tensors(matched_test_events(CONFIG)[::7], CONFIG).x
    fast, _ = ensemble(x)
    slow, _ = ensemble.forward_members(x)
    torch.testing.assert_close(fast, slow)
    grads = [torch.autograd.grad(out.square().sum(), ensemble.reach.weight)[0]
             for out in (fast, slow)]  # fmt: skip
    torch.testing.assert_close(grads[0], grads[1])
    member, _ = ensemble.member(1)(x)
    torch.testing.assert_close(member, fast[1])


def brute_force(outputs: np.ndarray, events: list) -> dict[str, float]:
    """One network's measures, read event by event from the definitions."""
    sigmoid = 1 / (1 + np.exp(-outputs))  # (B, T, 3 K)
    where = {e: n for n, e in enumerate(events)}
    frames = tensors(events, CONFIG).y[..., : 2 * K].numpy()
    looking, reappearance, expectation = [], [], []
    right = {"opaque": [], "transparent": []}
    strong = {"opaque": [], "transparent": []}
    guided = {"opaque": [], "transparent": []}
    for n, e in enumerate(events):
        if not (e.toy and e.possible):
            continue
        t, p = e.reach_step, e.toy_at(e.reach_step)
        reach = sigmoid[n, t, 2 * K :]
        none = sigmoid[where[replace(e, toy=False)], t, 2 * K :]
        right[e.screen].append(reach.argmax() == p)
        strong[e.screen].append(reach.argmax() == p and reach[p] > RESPONSE_THRESHOLD)
        guided[e.screen].append(reach[p] - none[p])
        if e.screen == "opaque":
            gone = where[replace(e, possible=False)]
            nothing = where[replace(e, toy=False)]
            seen = frames[gone, t]
            looking.append(((sigmoid[gone, t, : 2 * K] - seen) ** 2).sum()
                           - ((sigmoid[nothing, t, : 2 * K] - seen) ** 2).sum())  # fmt: skip
            q = sigmoid[n, t, K + e.toy_at(e.reappear_step)]
            possible = ((sigmoid[n, t, : 2 * K] - frames[n, t]) ** 2).sum()
            reappearance.append(((sigmoid[gone, t, : 2 * K] - seen) ** 2).sum() - possible)
            expectation.append(q)
    return {
        "looking": np.mean(looking), "looking_reappearance": np.mean(reappearance),
        "expectation": np.mean(expectation),
        "reach_occluded": np.mean(right["opaque"]), "reach_visible": np.mean(right["transparent"]),
        "reach_occluded_strong": np.mean(strong["opaque"]),
        "reach_visible_strong": np.mean(strong["transparent"]),
        "toy_guided_opaque": np.mean(guided["opaque"]),
        "toy_guided_transparent": np.mean(guided["transparent"]),
    }  # fmt: skip


def test_the_measures_read_what_their_definitions_say():
    events = matched_test_events(CONFIG)
    split = tensors(events, CONFIG)
    ensemble = Ensemble(lambda: LookReachNetwork(K, 15), 2, seeds=[3, 4])
    with torch.no_grad():
        for p in ensemble.parameters():
            p.mul_(4)  # larger weights: the networks' responses differ from event to event
        outputs, _ = ensemble(split.x)
    measured = measure(outputs, split.y, MatchedIndex.of(events, K), K)
    assert set(measured) == set(MEASURES)
    for k in range(2):
        expected = brute_force(outputs[k].double().numpy(), events)
        for name in MEASURES:
            assert measured[name][k] == pytest.approx(expected[name], abs=1e-9), name
    # the closed form of the reappearance comparison
    np.testing.assert_allclose(measured["looking_reappearance"], 2 * measured["expectation"] - 1)


def test_criterion_epochs():
    assert first_epoch(np.array([0.1, 0.5, 0.8, 0.7, 0.9]), 0.75) == 2
    assert first_epoch(np.array([0.1, 0.5]), 0.75) is None
    epochs = np.arange(21)
    curves = {
        "looking": np.minimum(epochs / 10, 1.0) * 0.4,  # final 0.4: criterion 0.3 at epoch 8
        "reach_occluded": epochs / 20,  # 0.75 at epoch 15
        "reach_visible": np.minimum(epochs / 5, 1.0),  # 0.8 at epoch 4
    }
    assert criterion_epochs(curves) == {"look": 8, "reach_occluded": 15, "reach_visible": 4}
    assert criterion_epochs({**curves, "looking": -curves["looking"]})["look"] is None


def fake_condition(name: str, look: list, occluded: list, margin: float) -> Condition:
    """Curves whose criterion epochs are ``look`` and ``occluded`` per seed (visible at 1)."""
    epochs = 30
    t = np.arange(epochs + 1)
    curves = {m: np.zeros((len(look), epochs + 1)) for m in MEASURES}
    for s, (a, b) in enumerate(zip(look, occluded)):
        curves["looking"][s] = (t >= a) * 1.0
        curves["reach_occluded"][s] = (t >= b) * 0.9
        curves["reach_visible"][s] = (t >= 1) * 0.9
        curves["toy_guided_transparent"][s] = margin
    return Condition(name, curves, {}, None, [])


@pytest.mark.parametrize(
    "ablated, margin, passed",
    [([5, 5, 5, 5, 5], 0.2, [True, True, True, True]),  # lags 10 -> 0
     ([5, 5, 5, 5, 5], 0.1, [True, True, False, True]),  # too small a margin
     ([5, 5, 12, 12, 12], 0.2, [True, True, True, False])],  # median lag 10 -> 7: not halved
)  # fmt: skip
def test_the_checks(ablated, margin, passed):
    main = fake_condition("reach_step", [5] * 5, [15] * 5, margin)
    ablation = fake_condition("every_step", [5] * 5, ablated, margin)
    checks, _, lags = summarise({"reach_step": main, "every_step": ablation}, 30)
    assert lags["reach_step"] == [10] * 5
    assert [c["passed"] for c in checks[:4]] == passed
    for c in checks:
        assert set(c) == {"name", "value", "paper", "criterion", "passed", "required"}


def test_a_tiny_run_writes_every_output(tmp_path):
    # Here, one condition after the other: worker processes would spend ~10 s starting; what
    # a worker sends back is checked below, and the pool itself in tests/train/test_workers.py.
    results = run(tmp_path, seeds=2, epochs=1, echo=lambda line: None, workers=1)
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["checks"] == results["checks"] and written["epochs"] == 1
    for name in ("reach_step", "every_step"):
        curve = written["conditions"][name]["mean_curves"]["reach_occluded"]
        assert len(curve) == 2 and written["conditions"][name]["updates"] == 16
    for figure in ("development", "lag_per_seed", "ablation", "hidden_pca"):
        assert (tmp_path / f"{figure}.png").stat().st_size > 1000
    assert (tmp_path / "report.html").read_text().count("data:image/png;base64,") == 4


def test_a_condition_trained_as_a_job_travels_between_processes():
    """What a worker process sends back (pickled): the curves, snapshots and events, without
    the ensemble."""
    from rnnlab.experiments.munakata1997 import HIDDEN_SIZE, _condition_job, training_config
    from rnnlab.tasks.occlusion_events import OcclusionEventsConfig

    done = _condition_job("reach_step", OcclusionEventsConfig(), [0], HIDDEN_SIZE,
                          training_config(1), (0, 1))  # fmt: skip
    back = pickle.loads(pickle.dumps(done))
    assert back.network is None and back.steps == done.steps > 0
    assert back.curves.keys() == done.curves.keys()
    for name, curve in done.curves.items():
        np.testing.assert_array_equal(back.curves[name], curve)
