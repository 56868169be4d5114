"""The n-bit flip-flop: registered, seeded, and its targets recomputed from its pulses."""

import pytest
import torch
from pydantic import ValidationError

from rnnlab.tasks import TASKS, build_task
from rnnlab.tasks.flipflop import FlipFlop, FlipFlopConfig, memory_patterns
from rnnlab.train.config import parse_config

SIZES = {"num_train": 64, "num_val": 16, "num_test": 16}
DENSE = FlipFlopConfig(seq_len=40, **SIZES)  # FixedPointFinder's p = 0.5
SPARSE = FlipFlopConfig(seq_len=200, pulse_probability=0.05, **SIZES)
CONFIGS = pytest.mark.parametrize("config", [DENSE, SPARSE], ids=["p=0.5", "p=0.05"])


def held_sign(x: torch.Tensor) -> torch.Tensor:
    """The target recomputed step by step: the sign of each channel's last pulse."""
    y = torch.zeros_like(x)
    memory = torch.zeros_like(x[:, 0])
    for t in range(x.shape[1]):
        memory = torch.where(x[:, t] != 0, x[:, t], memory)
        y[:, t] = memory
    return y


def test_registered_and_parsed_from_a_run_config():
    task = build_task(DENSE)
    assert TASKS["flipflop"] == (FlipFlopConfig, FlipFlop)
    assert task.name == "flipflop" and not task.stream and task.loss == "mse"
    assert task.description and "\n" not in task.description
    parsed = parse_config({"model": {"kind": "gru", "hidden_size": 8}, "task": DENSE.model_dump()})
    assert parsed.task == DENSE
    assert (task.input_size, task.output_size) == (3, 3)
    defaults = FlipFlopConfig()
    assert (defaults.num_bits, defaults.seq_len, defaults.pulse_probability) == (3, 64, 0.5)
    assert (defaults.num_train, defaults.num_val) == (512, 128)


@CONFIGS
def test_targets_hold_the_sign_of_the_last_pulse(config):
    for name, split in build_task(config).splits().items():
        N = getattr(config, f"num_{name}")
        assert split.x.shape == (N, config.seq_len, 3) == split.y.shape
        assert split.x.dtype == torch.float32 and split.mask is None and split.lengths is None
        assert set(split.x.unique().tolist()) <= {-1.0, 0.0, 1.0}
        assert (split.x[:, 0] != 0).all()  # a pulse on every channel at step 0
        assert set(split.y.unique().tolist()) == {-1.0, 1.0}
        assert torch.equal(split.y, held_sign(split.x))


@CONFIGS
def test_pulses_come_with_the_asked_probability_and_either_sign(config):
    x = build_task(config.model_copy(update={"num_train": 2000})).splits()["train"].x[:, 1:]
    pulses = x != 0
    assert float(pulses.float().mean()) == pytest.approx(config.pulse_probability, rel=0.05)
    assert float((x[pulses] > 0).float().mean()) == pytest.approx(0.5, abs=0.02)


def test_seeded():
    first, again = build_task(DENSE).splits(), build_task(DENSE).splits()
    other = build_task(DENSE.model_copy(update={"seed": 1})).splits()
    for name in first:
        assert torch.equal(first[name].x, again[name].x)
        assert torch.equal(first[name].y, again[name].y)
    assert not torch.equal(first["train"].x, other["train"].x)


def test_more_bits():
    config = FlipFlopConfig(num_bits=5, seq_len=30, **SIZES)
    task = build_task(config)
    split = task.splits()["test"]
    assert split.x.shape[-1] == 5 == task.input_size == task.output_size
    assert torch.equal(split.y, held_sign(split.x))


def test_metrics_perfect_on_targets_and_where_memory_is_held():
    task = build_task(DENSE)
    split = task.splits()["test"]
    assert task.metrics(split.y * 0.7, split) == {"accuracy": 1.0, "held_accuracy": 1.0}
    # An output that only echoes the current pulse is right at the pulses and guesses between.
    echo = task.metrics(split.x, split)
    assert echo["held_accuracy"] == 0.0 and 0 < echo["accuracy"] < 1
    guess = task.metrics(torch.full(split.y.shape, 0.5), split)
    assert guess["accuracy"] == pytest.approx(float((split.y > 0).float().mean()))


def test_memory_patterns_are_every_sign_pattern_once():
    patterns = memory_patterns(3)
    assert patterns.shape == (8, 3)
    assert patterns[0].tolist() == [-1, -1, -1] and patterns[-1].tolist() == [1, 1, 1]
    assert len({tuple(p.tolist()) for p in patterns}) == 8
    assert memory_patterns(1).tolist() == [[-1.0], [1.0]]


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"num_bits": 0}, "greater than or equal to 1"),
     ({"pulse_probability": 0.0}, "greater than 0"),
     ({"pulse_probability": 1.5}, "less than or equal to 1"),
     ({"seq_len": 0}, "greater than or equal to 1"),
     ({"bits": 3}, "Extra inputs are not permitted")],
)  # fmt: skip
def test_config_errors(fields, message):
    with pytest.raises(ValidationError, match=message):
        FlipFlopConfig(**fields)
