"""The kitchen and the coffee/tea training set: every row of the re-implementation's training
file regenerated from the simulator, and the world's rules on hand-worked cases."""

from pathlib import Path

import numpy as np
import pytest

from rnnlab.tasks.coffee_tea import (
    VARIANTS,
    actions_of,
    afforded_actions,
    load_training_file,
    run_sequence,
    training_set,
)
from rnnlab.tasks.kitchen import ACTIONS, FEATURES, INPUT_UNITS, Kitchen

DATA = Path(__file__).resolve().parents[3] / "shared/data/botvinick_plaut"
TRAINING_FILE = DATA / "training_sequences_full.dat"


def units(vector, names=INPUT_UNITS):
    return {n for n, v in zip(names, vector) if v}


@pytest.mark.skipif(not TRAINING_FILE.exists(), reason="shared data not present")
def test_every_row_of_the_training_file_is_regenerated():
    reference = load_training_file(TRAINING_FILE)
    ours = training_set()
    assert len(ours) == len(reference) == 355
    assert sum(len(s.inputs) for s in reference) == 339 + 8 * 20 + 8 * 37 == 795
    for a, b in zip(ours, reference):
        assert a.inputs.shape == b.inputs.shape, (a.name, b.name)
        np.testing.assert_array_equal(a.inputs, b.inputs, err_msg=f"{a.name} | {b.name}")
        np.testing.assert_allclose(a.targets, b.targets, atol=1e-5, err_msg=b.name)
    # the names agree too: fixated and held view of each background pattern, task of each
    for a, b in zip(ours[:339], reference[:339]):
        fixated, held = b.name.split("Fixate ")[1].split(" Hold ")
        assert a.name == f"background: fixate {fixated.strip()}, hold {held.split(' =>')[0]}"
    assert [s.name.split(":")[0] for s in ours[339:]] == ["tea"] * 8 + ["coffee"] * 8


def test_loader_refuses_a_malformed_file(tmp_path):
    bad = tmp_path / "bad.dat"
    bad.write_text("# Task: x\n1 0 1 > 0 1\n")
    with pytest.raises(ValueError, match="expected '39 inputs > 19 targets'"):
        load_training_file(bad)
    with pytest.raises(FileNotFoundError, match=r"training_sequences_full\.dat"):
        load_training_file(tmp_path / "missing.dat")


def test_the_start_of_a_trial():
    world = Kitchen(instruction="tea")
    x = world.render()
    assert x.shape == (39,) and len(INPUT_UNITS) == 39 and len(ACTIONS) == 19
    assert units(x) == {"fixated:cup", "fixated:one-handle", "fixated:clear-liquid",
                        "instruction:tea", "held:nothing"}  # fmt: skip
    assert world.act("fixate-teabag")
    assert units(world.render()) == {"fixated:teabag", "held:nothing"}  # instruction off


def test_actions_change_the_world_as_the_rules_say():
    world = Kitchen()
    assert not world.act("pour")  # nothing held
    assert not world.act("sip")
    assert world.act("pick-up") and world.held == "mug"
    assert not world.act("pick-up")  # the hand is full
    assert world.act("sip") and world.things["mug"].water == 7  # 15 -> 7
    assert units(world.render()[20:], [f"held:{f}" for f in FEATURES] + ["nothing"]) == {
        "held:cup", "held:one-handle", "held:clear-liquid"}  # fmt: skip
    assert world.act("sip") and world.things["mug"].empty  # two sips empty it
    assert not world.act("sip")
    world = Kitchen()
    world.act("fixate-sugar-bowl")
    assert not world.act("scoop")  # no spoon held
    assert world.act("pull-off") and world.held == "lid" and world.things["sugar bowl"].open
    assert not world.act("pull-off")
    world.act("put-down")
    world.act("fixate-spoon")
    world.act("pick-up")
    world.act("fixate-sugar-bowl")
    assert world.act("scoop") and world.things["spoon"].sugar == 4  # 7 -> 3 stay
    assert not world.act("scoop")  # the spoon is full
    world.act("fixate-teabag")
    assert not world.act("pour")  # not a container
    world.act("fixate-cup")
    assert world.act("pour") and world.things["mug"].sugar == 4 and world.things["spoon"].empty
    assert units(world.render()[:18], FEATURES) == {"cup", "one-handle", "clear-liquid"}
    assert not world.act("dip")  # the spoon is not a teabag
    assert world.act("stir") and world.things["mug"].mixed
    assert world.act("say-done") and world.done


def test_fixate_sugar_lands_on_either_source():
    rng = np.random.default_rng(0)
    landed = set()
    for _ in range(20):
        world = Kitchen(rng=rng)
        world.act("fixate-sugar")
        landed.add(world.fixated)
    assert landed == {"sugar packet", "sugar bowl"}


def test_every_target_sequence_runs_and_ends_with_an_empty_mug():
    for task, variants in VARIANTS.items():
        for subtasks in variants:
            inputs, actions = run_sequence(subtasks, task)
            assert len(actions) == {"coffee": 37, "tea": 20}[task]
            # the last input shows the mug, empty, fixated and held
            assert units(inputs[-1]) == {"fixated:cup", "fixated:one-handle", "held:cup",
                                         "held:one-handle"}  # fmt: skip
    assert actions_of(("drink",)) == ["put-down", "pick-up", "sip", "sip", "say-done"]


def test_affordances():
    assert afforded_actions("sugar_bowl_with_lid", None) == ["pick-up", "pull-off"]
    assert set(afforded_actions("non_empty_mug", "empty_spoon")) == {"put-down", "scoop", "stir"}
    assert afforded_actions("non_empty_mug", "non_empty_mug") == ["put-down", "sip"]
    assert afforded_actions("sugar_bowl_without_lid", "non_empty_mug") == ["put-down"]
    assert set(afforded_actions("empty_spoon", "coffee_pack_torn")) == {"put-down", "pour"}
