"""The cognitive tasks (rnnlab.tasks.trials and its four tasks): named periods in order, the
loss mask on the fixation and decision periods, per-trial conditions, non-negative inputs with
the fixation input, pycog's input coding, and the same trials for the same seed."""

import math

import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.tasks import TASKS, checked_splits
from rnnlab.tasks.trials import BASELINE, HIGH, LOW, RESPONSE, Trials, choice_metrics
from rnnlab.train.config import parse_config

COGNITIVE = ["perceptual_decision", "context_decision", "working_memory", "match_to_sample"]
PERIODS = {
    "perceptual_decision": ["fixation", "stimulus", "decision"],
    "context_decision": ["fixation", "stimulus", "decision"],
    "working_memory": ["fixation", "f1", "delay", "f2", "decision"],
    "match_to_sample": ["fixation", "sample", "delay", "test", "decision"],
}
STEPS = {"perceptual_decision": 60, "context_decision": 60, "working_memory": 220,
         "match_to_sample": 160}  # fmt: skip
CONDITIONS = {
    "perceptual_decision": {"coherence", "strength"},
    "context_decision": {"context", "motion", "colour", "relevant", "irrelevant"},
    "working_memory": {"f1", "f2", "difference"},
    "match_to_sample": {"sample", "test", "match"},
}


def make(name, **options):
    config_type, task_type = TASKS[name]
    small = {"num_train": 64, "num_val": 16, "num_test": 16}
    return task_type(config_type(**{**small, **options}))


@pytest.fixture(scope="module", params=COGNITIVE)
def drawn(request):
    name = request.param
    # catch trials in every task, so that the tests see both kinds
    task = make(name, catch_fraction=0.25)
    return name, task, checked_splits(task)["train"]


def test_periods_are_named_in_order_and_fill_the_trial(drawn):
    name, _, trials = drawn
    assert isinstance(trials, Trials)
    assert list(trials.periods) == PERIODS[name]
    assert trials.seq_len == STEPS[name]  # pycog's dt of 20 ms
    start = torch.zeros(len(trials.x), dtype=torch.long)
    for bounds in trials.periods.values():
        assert torch.equal(bounds[:, 0], start)
        assert (bounds[:, 1] > bounds[:, 0]).all()
        start = bounds[:, 1]
    assert (start == trials.seq_len).all()


def test_the_mask_is_the_fixation_and_decision_periods_and_all_of_a_catch_trial(drawn):
    _, _, trials = drawn
    catch = trials.catch
    assert catch.any() and (~catch).any()
    expected = trials.during("fixation") | trials.during(RESPONSE)
    assert torch.equal(trials.mask[~catch], expected[~catch])
    assert trials.mask[catch].all()


def test_targets_are_low_but_the_correct_choice_during_the_decision(drawn):
    _, _, trials = drawn
    choice, catch = trials.conditions["choice"], trials.catch
    assert set(choice[catch].tolist()) == {-1}
    assert set(choice[~catch].tolist()) <= {0, 1}
    assert (trials.y[catch] == LOW).all()
    decision = trials.during(RESPONSE)
    for n in torch.nonzero(~catch).squeeze(1).tolist():
        chosen, other = trials.y[n, :, choice[n]], trials.y[n, :, 1 - choice[n]]
        assert (chosen[decision[n]] == HIGH).all() and (chosen[~decision[n]] == LOW).all()
        assert (other == LOW).all()


def test_inputs_are_non_negative_with_the_fixation_input_first(drawn):
    _, task, trials = drawn
    assert trials.x.shape[-1] == task.input_size == len(task.input_names)
    assert (trials.x >= 0).all()
    fixation = trials.x[..., 0]
    on = ~trials.during(RESPONSE) | trials.catch[:, None]
    torch.testing.assert_close(fixation[on], torch.full_like(fixation[on], 1 + BASELINE))
    torch.testing.assert_close(fixation[~on], torch.full_like(fixation[~on], BASELINE))
    # no stimulus in the fixation and decision periods, nor in a catch trial
    quiet = trials.during("fixation") | trials.during(RESPONSE) | trials.catch[:, None]
    stimulus = trials.x[..., 1:]
    torch.testing.assert_close(stimulus[quiet], torch.full_like(stimulus[quiet], BASELINE))


def test_every_trial_keeps_its_conditions(drawn):
    name, _, trials = drawn
    assert set(trials.conditions) == CONDITIONS[name] | {"choice", "catch"}
    for values in trials.conditions.values():
        assert tuple(values.shape) == (len(trials.x),)


@pytest.mark.parametrize("name", COGNITIVE)
def test_the_same_seed_gives_the_same_trials_and_another_seed_others(name):
    first, again, other = (make(name, seed=s).splits() for s in (3, 3, 4))
    for split in ("train", "val", "test"):
        assert torch.equal(first[split].x, again[split].x)
        assert torch.equal(first[split].y, again[split].y)
        assert torch.equal(first[split].mask, again[split].mask)
        for key, values in first[split].conditions.items():
            assert torch.equal(values, again[split].conditions[key])
    assert not torch.equal(first["train"].x, other["train"].x)


@pytest.mark.parametrize("name", COGNITIVE)
def test_input_noise_is_seeded_and_keeps_the_inputs_non_negative(name):
    noisy = make(name, sigma=0.5, seed=1).splits()["train"]
    assert (noisy.x >= 0).all()
    assert torch.equal(noisy.x, make(name, sigma=0.5, seed=1).splits()["train"].x)
    clean = make(name, seed=1).splits()["train"]
    assert not torch.equal(noisy.x, clean.x)


@pytest.mark.parametrize("name", COGNITIVE)
def test_the_task_is_in_the_registry_and_a_config_builds_it(name):
    config = parse_config({"model": {"kind": "ctrnn", "hidden_size": 8, "dale": True},
                           "task": {"name": name, "num_train": 4}})  # fmt: skip
    assert TASKS[name] == (type(config.task), type(make(name)))


def test_perceptual_decision_codes_the_coherence_as_pycog_does():
    task = make("perceptual_decision")
    coherence = torch.tensor([-16.0, -1.0, 2.0, 8.0])
    trials = task.trials(coherence, torch.Generator().manual_seed(0))
    stimulus = trials.during("stimulus")[0]
    evidence = trials.x[:, stimulus, 1:] - BASELINE  # (N, steps, 2)
    expected = torch.stack([(1 - 3.2 * coherence / 100) / 2, (1 + 3.2 * coherence / 100) / 2], -1)
    torch.testing.assert_close(evidence, expected[:, None, :].expand_as(evidence))
    assert trials.conditions["choice"].tolist() == [0, 0, 1, 1]
    assert trials.conditions["strength"].tolist() == [16.0, 1.0, 2.0, 8.0]
    drawn = make("perceptual_decision", num_train=2000, catch_fraction=0.0).splits()["train"]
    assert set(drawn.conditions["coherence"].tolist()) == {s * c for s in (-1, 1)
                                                           for c in (1, 2, 4, 8, 16)}  # fmt: skip


def test_context_decision_follows_the_cued_stimulus():
    task = make("context_decision")
    context = torch.tensor([0, 0, 1, 1])
    motion = torch.tensor([3.0, -10.0, 3.0, -1.0])
    colour = torch.tensor([-1.0, 10.0, -1.0, 3.0])
    trials = task.trials(context, motion, colour, torch.Generator().manual_seed(0))
    assert trials.conditions["choice"].tolist() == [1, 0, 0, 1]
    assert trials.conditions["relevant"].tolist() == [3.0, -10.0, -1.0, 3.0]
    assert trials.conditions["irrelevant"].tolist() == [-1.0, 10.0, 3.0, -1.0]
    during = trials.x[:, trials.during("stimulus")[0]][:, 0] - BASELINE  # (N, 7) one step
    assert during[:, 1].tolist() == [1, 1, 0, 0] and during[:, 2].tolist() == [0, 0, 1, 1]
    torch.testing.assert_close(during[:, 4] - during[:, 3], 5 * motion / 100)
    torch.testing.assert_close(during[:, 6] - during[:, 5], 5 * colour / 100)
    drawn = make("context_decision", num_train=3000, catch_fraction=0.0).splits()["train"]
    conditions = {
        (int(k), float(m), float(c))
        for k, m, c in zip(
            drawn.conditions["context"], drawn.conditions["motion"], drawn.conditions["colour"]
        )
    }
    assert len(conditions) == 72  # 2 contexts x 6 x 6 signed coherences


def test_working_memory_compares_f2_with_the_remembered_f1():
    task = make("working_memory")
    f1, f2 = torch.tensor([18.0, 10.0, 34.0]), torch.tensor([10.0, 18.0, 26.0])
    trials = task.trials(f1, f2, torch.Generator().manual_seed(0))
    assert trials.conditions["choice"].tolist() == [0, 1, 0]
    first = trials.x[:, trials.during("f1")[0]][:, 0, 1:] - BASELINE
    torch.testing.assert_close(first[:, 0], 0.2 + 0.8 * (f1 - 10) / 24)
    torch.testing.assert_close(first[:, 1], 0.2 + 0.8 * (34 - f1) / 24)
    delay = trials.x[:, trials.during("delay")[0], 1:]
    torch.testing.assert_close(delay, torch.full_like(delay, BASELINE))


def test_match_to_sample_shows_the_same_or_the_opposite_direction():
    task = make("match_to_sample", directions=4)
    sample, match = torch.tensor([0, 1, 2, 3]), torch.tensor([True, False, True, False])
    trials = task.trials(sample, match, torch.Generator().manual_seed(0))
    assert trials.conditions["choice"].tolist() == [0, 1, 0, 1]
    assert trials.conditions["test"].tolist() == [0.0, 3.0, 2.0, 1.0]
    ring = trials.x[:, :, 1:] - BASELINE
    seen = ring[:, trials.during("sample")[0]][:, 0]
    tested = ring[:, trials.during("test")[0]][:, 0]
    expected = torch.cos(2 * math.pi * (sample[:, None] - torch.arange(4)) / 4) / 2 + 0.5
    torch.testing.assert_close(seen, expected)
    torch.testing.assert_close(tested[match], seen[match])
    torch.testing.assert_close(tested[~match], 1 - seen[~match])  # the opposite direction


def test_performance_is_the_larger_output_at_the_last_step_and_catch_trials_stay_low():
    trials = make("perceptual_decision", catch_fraction=0.3).splits()["test"]
    assert choice_metrics(trials.y, trials) == {"accuracy": 1.0, "catch_accuracy": 1.0}
    swapped = trials.y.flip(-1)
    swapped[trials.catch] = HIGH
    assert choice_metrics(swapped, trials) == {"accuracy": 0.0, "catch_accuracy": 0.0}


@pytest.mark.parametrize(
    ("task", "message"),
    [({"name": "perceptual_decision", "coherences": [40.0]}, "inputs stay non-negative"),
     ({"name": "context_decision", "stimulus": 10.0}, "stimulus must last at least dt"),
     ({"name": "working_memory", "low_frequencies": [0.0]}, "every frequency must be > 0"),
     ({"name": "match_to_sample", "directions": 1}, "directions")],
)  # fmt: skip
def test_configs_that_make_no_sense_are_config_errors(task, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"model": {"kind": "ctrnn", "hidden_size": 8}, "task": task})


@pytest.mark.parametrize("name", COGNITIVE)
def test_validation_and_test_trials_cycle_through_the_conditions(name):
    """pycog's validation: trial n has condition n mod K, and a catch trial every K + 1."""
    task = make(name, num_val=100, num_test=100)
    K = len(next(iter(task.grid().values())))
    for split in ("val", "test"):
        trials = task.splits()[split]
        cycle = K + (1 if task.config.catch_fraction > 0 else 0)
        assert torch.equal(trials.catch, torch.arange(100) % cycle == K)
        for key, values in task.grid().items():
            index = (torch.arange(100) % cycle).clamp_max(K - 1)
            kept = ~trials.catch
            assert torch.equal(trials.conditions[key][kept].to(values.dtype), values[index][kept])
