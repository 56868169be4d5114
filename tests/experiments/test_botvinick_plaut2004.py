"""Botvinick & Plaut (2004): the scoring on hand-written action sequences of every kind, the
networks' step against the layer, and the quick run end to end (its outputs)."""

import json

import pytest
import torch

from rnnlab.experiments.botvinick_plaut2004 import run
from rnnlab.experiments.botvinick_plaut2004.network import Networks
from rnnlab.experiments.botvinick_plaut2004.scoring import score
from rnnlab.experiments.botvinick_plaut2004.summary import first_deviation
from rnnlab.tasks.coffee_tea import SUBTASKS, VARIANTS, actions_of

SOURCE = {"sugar-packet": "sugar packet", "sugar-bowl": "sugar bowl"}


def trial(*subtasks, task="coffee", extra=None, at=None):
    """The actions of ``subtasks`` (optionally ``extra`` actions inserted at index ``at``)."""
    actions = actions_of(subtasks)
    if extra is not None:
        actions[at:at] = extra
    targets = [SOURCE[s] for s in subtasks if s in SOURCE]
    return score(actions, targets, task)


def errors(result):
    return {k: v for k, v in result.errors.items() if v}


def test_every_correct_sequence_scores_correct():
    for task, variants in VARIANTS.items():
        for subtasks in variants:
            s = trial(*subtasks, task=task)
            assert s.correct and s.total == 0 and s.independents == 0, (task, subtasks)
            assert s.segments == list(subtasks)


def test_subtask_level_slips():
    s = trial("grounds", "cream", "drink")  # no sugar
    assert errors(s) == {"omission": 1} and s.slip and not s.correct
    s = trial("grounds", "sugar-packet", "sugar-bowl", "cream", "drink")  # sugar twice
    assert errors(s) == {"perseveration": 1} and s.slip
    s = trial("grounds", "sugar-packet", "cream", "sugar-bowl", "drink")  # sugar again later
    assert errors(s) == {"repetition": 1} and s.slip
    s = trial("teabag", "sugar-bowl", "cream", "drink", task="tea")  # cream in tea: capture
    assert errors(s) == {"intrusion": 1} and s.slip
    # a sip after the grounds (a malformed drink: other), then sugar, cream and the drink: two
    # adds after drinking (order), drinking again (repetition), whose second sip fails on the
    # empty mug (bizarre)
    actions = [*actions_of(("grounds",)), "put-down", "pick-up", "sip"]
    actions += actions_of(("sugar-packet", "cream", "drink"))
    s = score(actions, ["sugar packet"], "coffee")
    assert errors(s) == {"order": 2, "repetition": 1, "other": 1, "bizarre": 1}
    s = trial("grounds", "drink")  # sugar and cream omitted: two omissions
    assert errors(s) == {"omission": 2}


def test_within_subtask_errors():
    # a failed action (pour with an empty spoon) inside the sugar subtask: bizarre
    s = trial("grounds", "sugar-packet", "cream", "drink", extra=["pour"], at=10)
    assert errors(s) == {"bizarre": 1} and not s.slip
    # an extra fixation that succeeds but breaks the subtask: other; the subtask's five
    # non-crux actions and its pour and stir are errors
    s = trial("grounds", "sugar-packet", "cream", "drink", extra=["fixate-spoon"], at=14)
    assert errors(s) == {"other": 1} and not s.slip
    assert (s.non_crux_errors, s.crux_errors) == (5, 2)
    # fixating the teabag before picking up the packet: the teabag is picked up instead, the
    # packet cannot be torn open (bizarre) and no sugar goes in (omission)
    s = trial("grounds", "sugar-packet", "cream", "drink", extra=["fixate-teabag"], at=12)
    assert errors(s) == {"omission": 1, "bizarre": 1}
    # the trial ends without say-done
    s = score(actions_of(("grounds", "sugar-packet", "cream")), ["sugar packet"], "coffee")
    assert errors(s) == {"omission": 1} and not s.finished and not s.correct


def test_independent_actions():
    # picking up the teabag and putting it down, with no dip: two independent actions
    s = trial("grounds", "sugar-packet", "cream", "drink",
              extra=["fixate-teabag", "put-down", "pick-up", "put-down"], at=10)  # fmt: skip
    assert s.independents == 2, s
    # the teabag's pick-up and put-down are logged; the sugar subtask's put-down now fails
    assert s.actions == 24 + 2


def test_the_task_is_read_from_the_first_subtask_without_instruction():
    assert trial("teabag", "sugar-packet", "drink", task=None).task == "tea"
    assert trial("grounds", "cream", "sugar-bowl", "drink", task=None).correct


def test_first_deviation_and_subtask_boundaries():
    # grounds then cream is a correct prefix (cream first); drinking then skips the sugar
    actions = actions_of(("grounds", "cream", "drink"))
    k, bounds = first_deviation(actions, [], "coffee")
    grounds, cream = len(SUBTASKS["grounds"]), len(SUBTASKS["cream"])
    assert k == grounds + cream == 21 and {0, grounds, 21} <= bounds
    # a slip inside the grounds subtask: far from a boundary
    actions = actions_of(("grounds", "sugar-packet", "cream", "drink"))
    actions[5] = "fixate-teabag"
    k, bounds = first_deviation(actions, ["sugar packet"], "coffee")
    assert k == 5 and all(abs(k - b) > 1 for b in bounds)


def test_step_equals_the_layer():
    networks = Networks(3, seed=0)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(5, 4, 39, generator=generator)
    state = networks.initial_state(5, generator)
    outputs, _ = networks.layers(x, state)
    h, steps = state[:, 0], []
    for t in range(4):
        h = networks.step(x[None, :, t].expand(3, -1, -1).contiguous(), h)
        steps.append(h)
    torch.testing.assert_close(torch.stack(steps, 2), outputs)
    assert float(networks.layers.bias_hh_l0.abs().max()) == 0.0
    assert not networks.layers.bias_hh_l0.requires_grad
    weights = torch.cat([p.flatten() for p in networks.parameters() if p.requires_grad])
    assert weights.abs().max() <= 1.0 and weights.abs().max() > 0.95  # U(-1, 1)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bp2004")
    return out, run(out, quick=True, echo=lambda line: None)


@pytest.mark.slow
def test_quick_run_outputs(quick_run):
    out, results = quick_run
    written = json.loads((out / "results.json").read_text())
    assert written["checks"] == results["checks"] and written["quick"]
    for check in written["checks"]:
        assert {"name", "value", "paper", "reference", "criterion", "passed",
                "required"} <= set(check)  # fmt: skip
    lines = (out / "trials.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert {"network", "noise", "task", "instruction", "actions", "errors"} <= set(first)
    assert len(lines) == 4 * 25 * 9 * 2 + 4 * 100
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 5
