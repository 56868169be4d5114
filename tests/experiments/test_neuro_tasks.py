"""The neuro-tasks replication (Song, Yang & Wang 2016): what it writes, the Dale network and
its stopping rule, and (slow) the quick mode's checks."""

import json
from types import SimpleNamespace

import pytest
import torch

from rnnlab.experiments.neuro_tasks import run
from rnnlab.experiments.neuro_tasks.behaviour import dale_violations
from rnnlab.experiments.neuro_tasks.training import Setting, TargetPerformance, dale_network
from rnnlab.tasks.perceptual_decision import PerceptualDecision, PerceptualDecisionConfig

TINY = {
    "perceptual_decision": Setting(hidden_size=20, batch_size=20, target=0.85, max_steps=30,
                                   eval_every=10),
    "context_decision": Setting(hidden_size=20, batch_size=20, target=0.90, max_steps=30,
                                eval_every=10),
}  # fmt: skip

CHECKS = [
    "random dots: accuracy on noisy test trials",
    "random dots: P(correct) at 16 % coherence",
    "random dots: P(correct) at 1 % coherence",
    "random dots: psychometric curve monotone in signed coherence",
    "random dots: |bias| of the cumulative-Gaussian fit (% coherence)",
    "context: accuracy on noisy test trials",
    "context motion: choice slope relevant / |irrelevant|",
    "context colour: choice slope relevant / |irrelevant|",
    "Dale's law: effective weights of the wrong sign after training",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("neuro_tasks")
    return out, run(out, seeds=2, quick=False, echo=lambda line: None, settings=TINY)


def test_results_report_and_figures(tiny_run):
    out, _ = tiny_run
    written = json.loads((out / "results.json").read_text())
    assert written["experiment"] == "neuro-tasks" and written["seeds"] == 2
    assert [c["name"] for c in written["checks"]] == CHECKS
    for check in written["checks"]:
        assert {"name", "value", "paper", "criterion", "passed", "required"} <= set(check)
        assert len(check["per_seed"]) == (4 if check["name"].startswith("Dale") else 2)
    for task in ("perceptual_decision", "context_decision"):
        assert [r["seed"] for r in written[task]] == [0, 1]
        assert all(r["training"]["steps"] == 30 for r in written[task])
    assert set(written["perceptual_decision"][0]["by_strength"]) == {"1", "2", "4", "8", "16"}
    assert written["perceptual_decision"][0]["trials"] == 250 * 10
    assert written["context_decision"][0]["trials"] == 40 * 72
    for figure in ("psychometric", "context_psychometric", "choice_slopes", "training"):
        assert (out / f"{figure}.png").stat().st_size > 1000
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 4


def test_dale_holds_after_training_even_a_little(tiny_run):
    found = {c["name"]: c for c in tiny_run[1]["checks"]}
    dale = found["Dale's law: effective weights of the wrong sign after training"]
    assert dale["value"] == 0 and dale["passed"]


def test_the_network_breaks_no_dale_rule_and_starts_as_pycog():
    task = PerceptualDecision(PerceptualDecisionConfig(num_train=8, num_val=4, num_test=4))
    network = dale_network(task, 10, seed=0)
    assert dale_violations(network)["total"] == 0
    assert (network.readout.bias == 0).all()
    assert network.readout.units.tolist() == list(range(8))


def test_a_network_is_the_same_for_the_same_seed():
    task = PerceptualDecision(PerceptualDecisionConfig(num_train=8, num_val=4, num_test=4))
    first, again = dale_network(task, 12, seed=3), dale_network(task, 12, seed=3)
    for (name, a), (_, b) in zip(first.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), name
    assert first.layer.sigma_rec == 0.15 and first.layer.noise_in_eval


@pytest.mark.parametrize(
    ("accuracies", "stops"),
    [([0.9, 0.9, 0.9, 0.9], False), ([0.5, 0.9, 0.9, 0.9, 0.9, 0.9], True),
     ([0.9, 0.9, 0.9, 0.9, 0.85], True), ([0.9, 0.9, 0.9, 0.8, 0.8], False)],
)  # fmt: skip
def test_training_stops_once_the_mean_of_the_last_five_validations_passes(accuracies, stops):
    loop, stop = SimpleNamespace(state=SimpleNamespace(finished=None)), TargetPerformance(0.86)
    for accuracy in accuracies:
        stop.on_validation(loop, {"val_accuracy": accuracy})
    assert (loop.state.finished == "target_reached") == stops


@pytest.mark.slow
def test_the_quick_replication_passes_its_checks(tmp_path):
    """About 60-90 s on 2 cores: marked slow. Its time is measured, not asserted (the issue's
    90 s is a number for the closing note, and a starved machine would fail a timed test)."""
    results = run(tmp_path, quick=True, echo=lambda line: None)
    failed = [c for c in results["checks"] if c["required"] and not c["passed"]]
    assert not failed, failed
