"""The long-term-dependency benchmarks: latch, 2-sequence, parity, adding, copy memory, Reber.

Each generator's defining property is recomputed from its inputs.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ValidationError

from rnnlab.errors import ConfigError
from rnnlab.tasks import TASKS, build_task
from rnnlab.tasks.adding import AddingConfig
from rnnlab.tasks.copy_memory import CopyMemoryConfig
from rnnlab.tasks.latch import LatchConfig
from rnnlab.tasks.parity import ParityConfig
from rnnlab.tasks.reber import (
    EMBEDDED_REBER_GRAMMAR,
    REBER_GRAMMAR,
    SYMBOLS,
    ReberConfig,
    accepts,
    legal_next,
)
from rnnlab.tasks.two_sequence import TwoSequenceConfig
from rnnlab.train.config import parse_config

SIZES = {"num_train": 200, "num_val": 30, "num_test": 20}

CASES: dict[str, BaseModel] = {
    "latch": LatchConfig(seq_len=12, **SIZES),
    "two_sequence_n1": TwoSequenceConfig(seq_len=15, **SIZES),
    "two_sequence_n3": TwoSequenceConfig(seq_len=15, num_informative=3, **SIZES),
    "parity": ParityConfig(seq_len=9, **SIZES),
    "parity_noisy": ParityConfig(seq_len=9, noise=0.2, **SIZES),
    "adding_modern": AddingConfig(seq_len=20, **SIZES),
    "adding_hochreiter1997": AddingConfig(form="hochreiter1997", seq_len=30, **SIZES),
    "copy_memory": CopyMemoryConfig(seq_len=7, **SIZES),
    "reber": ReberConfig(**SIZES),
}


def cases(*names: str) -> pytest.MarkDecorator:
    names = names or tuple(CASES)
    return pytest.mark.parametrize("config", [CASES[n] for n in names], ids=names)


def splits_of(config: BaseModel) -> dict:
    return build_task(config).splits()


# --- every task -----------------------------------------------------------------------------


@cases()
def test_registered_with_a_one_line_description(config):
    task = build_task(config)
    assert TASKS[config.name] == (type(config), type(task))
    assert task.name == config.name and not task.stream and not task.autoregressive
    assert task.description and "\n" not in task.description
    parsed = parse_config(
        {"model": {"kind": "lstm", "hidden_size": 4}, "task": config.model_dump()}
    )
    assert parsed.task == config


@cases()
def test_split_shapes_and_dtypes(config):
    task = build_task(config)
    splits = task.splits()
    assert set(splits) == {"train", "val", "test"}
    for name, split in splits.items():
        N, T, I = split.x.shape
        assert getattr(config, f"num_{name}") == N
        assert task.input_size == I and split.x.dtype == torch.float32
        if task.loss == "cross_entropy":
            assert split.y.shape == (N, T) and split.y.dtype == torch.long
        else:
            assert split.y.shape == (N, T, task.output_size) and split.y.dtype == torch.float32
        if split.mask is not None:
            assert split.mask.dtype == torch.bool and split.mask.any(dim=1).all()


@cases()
def test_seeded(config):
    first, again = splits_of(config), splits_of(config)
    other = splits_of(config.model_copy(update={"seed": config.seed + 1}))
    for name in ("train", "val", "test"):
        for field in ("x", "y", "mask"):
            a, b = getattr(first[name], field), getattr(again[name], field)
            assert (a is None and b is None) or torch.equal(a, b)
    assert first["train"].x.shape != other["train"].x.shape or not torch.equal(
        first["train"].x, other["train"].x
    )


@cases()
def test_metrics_are_perfect_on_the_targets_and_lower_on_a_baseline(config):
    task = build_task(config)
    split = task.splits()["test"]
    if task.loss == "cross_entropy":
        perfect = F.one_hot(split.y, task.output_size).float()
        baseline = torch.full(perfect.shape, 1.0 / task.output_size)
    else:
        perfect, baseline = split.y.clone(), torch.full(split.y.shape, 0.5)
    good, bad = task.metrics(perfect, split), task.metrics(baseline, split)
    scores = [key for key in good if key.endswith("accuracy")]
    assert scores
    for key in scores:
        assert good[key] == 1.0
        assert bad[key] < 1.0


# --- latch and 2-sequence -------------------------------------------------------------------


def last_step_mask_only(split) -> bool:
    expected = torch.zeros_like(split.mask)
    expected[:, -1] = True
    return torch.equal(split.mask, expected)


@cases("latch")
def test_latch_target_is_carried_by_the_first_input(config):
    for split in splits_of(config).values():
        first = split.x[:, 0, 0]
        assert set(first.tolist()) <= {1.0, -1.0}
        assert torch.equal(split.y[:, -1, 0], 0.8 * first)
        assert not split.y[:, :-1].any()
        assert last_step_mask_only(split)


@cases("two_sequence_n1", "two_sequence_n3")
def test_two_sequence_target_is_carried_by_the_first_inputs(config):
    n = config.num_informative
    for split in splits_of(config).values():
        informative = split.x[:, :n, 0]
        assert set(informative.flatten().tolist()) <= {1.0, -1.0}
        assert (informative == informative[:, :1]).all()  # all N elements carry the class
        assert torch.equal(split.y[:, -1, 0], (informative[:, 0] > 0).float())
        assert not split.y[:, :-1].any()
        assert last_step_mask_only(split)


@pytest.mark.parametrize(
    ("config", "informative"),
    [
        (LatchConfig(seq_len=50, num_train=2000, num_val=1, num_test=1), 1),
        (
            TwoSequenceConfig(seq_len=50, num_informative=3, num_train=2000, num_val=1, num_test=1),
            3,
        ),
    ],
    ids=["latch", "two_sequence"],
)
def test_noise_has_variance_0_2(config, informative):
    noise = splits_of(config)["train"].x[:, informative:, 0]
    assert noise.numel() > 90_000
    assert abs(float(noise.mean())) < 0.01
    assert float(noise.var()) == pytest.approx(0.2, abs=0.005)
    classes = splits_of(config)["train"].x[:, 0, 0]
    assert 0.45 < float((classes > 0).float().mean()) < 0.55  # equiprobable classes


# --- parity ---------------------------------------------------------------------------------


@cases("parity", "parity_noisy")
def test_parity_target_is_the_parity_of_the_positive_inputs(config):
    for split in splits_of(config).values():
        x = split.x[..., 0]
        bits = x > 0
        deviation = (x - torch.where(bits, 1.0, -1.0)).abs()
        assert float(deviation.max()) <= config.noise
        if config.noise:
            assert float(deviation.max()) > 0.8 * config.noise
        expected = (bits.sum(dim=1) % 2).float()
        assert torch.equal(split.y[:, -1, 0], expected)
        assert not split.y[:, :-1].any()
        assert last_step_mask_only(split)


# --- adding ---------------------------------------------------------------------------------


@cases("adding_modern")
def test_adding_modern_target_is_the_sum_of_the_marked_values(config):
    T = config.seq_len
    for split in splits_of(config).values():
        values, markers = split.x[..., 0], split.x[..., 1]
        assert ((values >= 0) & (values < 1)).all()
        assert set(markers.flatten().tolist()) == {0.0, 1.0}
        assert (markers[:, : T // 2].sum(dim=1) == 1).all()
        assert (markers[:, T // 2 :].sum(dim=1) == 1).all()
        expected = (values * markers).sum(dim=1)
        assert torch.allclose(split.y[:, -1, 0], expected)
        assert last_step_mask_only(split)


@cases("adding_hochreiter1997")
def test_adding_1997_follows_the_lstm97_rules(config):
    T = config.seq_len
    candidates = T // 2 - 1  # X2 is one of the first T/2 - 1 still-unmarked pairs
    firsts, seconds = set(), set()
    for split in splits_of(config).values():
        values, markers = split.x[..., 0], split.x[..., 1]
        assert ((values >= -1) & (values <= 1)).all()
        marked = markers == 1.0
        assert (marked.sum(dim=1) == 2).all()
        # every other marker is 0, except the first and the final pair: -1 unless marked
        for t in (0, T - 1):
            assert (markers[~marked[:, t], t] == -1.0).all()
        assert not markers[:, 1:-1][~marked[:, 1:-1]].any()
        # if the first pair is marked, its value is 0
        assert (values[marked[:, 0], 0] == 0.0).all()
        for row in range(len(values)):
            p, q = marked[row].nonzero().flatten().tolist()
            # one of them (X1) is within the first ten, the other (X2) among the candidates
            assert (p < 10 and q <= candidates) or (q < 10 and p <= candidates)
            firsts.add(p)
            seconds.add(q)
        target = 0.5 + (values * marked).sum(dim=1) / 4.0
        assert torch.allclose(split.y[:, -1, 0], target)
        assert ((split.y[:, -1, 0] >= 0) & (split.y[:, -1, 0] <= 1)).all()
        assert last_step_mask_only(split)
    assert 0 in firsts and max(seconds) == candidates  # the whole ranges are used


def test_adding_modern_is_the_default_form():
    assert AddingConfig().form == "modern"
    default = splits_of(AddingConfig(seq_len=10, **SIZES))["train"]
    explicit = splits_of(AddingConfig(form="modern", seq_len=10, **SIZES))["train"]
    assert torch.equal(default.x, explicit.x)
    hochreiter = splits_of(AddingConfig(form="hochreiter1997", seq_len=10, **SIZES))["train"]
    assert (hochreiter.x[..., 0] < 0).any() and not (default.x[..., 0] < 0).any()


# --- copy memory ----------------------------------------------------------------------------


@cases("copy_memory")
def test_copy_memory_target_recalls_the_first_ten_inputs(config):
    T = config.seq_len
    for split in splits_of(config).values():
        assert split.mask is None  # the loss covers every step
        assert torch.equal(split.x.sum(dim=-1), torch.ones(split.x.shape[:2]))  # one-hot
        symbols = split.x.argmax(dim=-1)  # (N, T + 20)
        assert symbols.shape[1] == T + 20
        data = symbols[:, :10]
        assert ((data >= 1) & (data <= 8)).all()
        assert not symbols[:, 10 : T + 9].any()  # T - 1 blanks
        assert (symbols[:, T + 9 :] == 9).all()  # the delimiter at T + 9, then ten more 9s
        assert not split.y[:, : T + 10].any()  # T + 10 blanks
        assert torch.equal(split.y[:, T + 10 :], data)


def test_copy_memory_baseline_loss():
    config = CASES["copy_memory"]
    task = build_task(config)
    split = task.splits()["test"]
    metrics = task.metrics(torch.full((*split.y.shape, 10), 0.1), split)
    assert metrics["baseline_loss"] == pytest.approx(10 * math.log(8) / (config.seq_len + 20))
    assert metrics["recall_accuracy"] == 0.0


# --- embedded Reber grammar -----------------------------------------------------------------


def test_reber_table_accepts_known_strings_and_rejects_others():
    assert REBER_GRAMMAR[0] == {"B": 1} and REBER_GRAMMAR[7] == {}
    assert accepts("BTBTSSXXTVVETE") and accepts("BPBPVVEPE") and accepts("BTBTXSETE")
    assert not accepts("BTBTXSEPE")  # the penultimate symbol must repeat the second
    assert not accepts("BTBTXSET")  # incomplete
    assert not accepts("BTBTXXETE")
    with pytest.raises(ValueError, match="'X' at position 5"):
        legal_next("BTBPVX")
    assert all(state in EMBEDDED_REBER_GRAMMAR for edges in EMBEDDED_REBER_GRAMMAR.values()
               for state in edges.values())  # fmt: skip


@cases("reber")
def test_reber_strings_are_grammatical_with_legal_next_targets(config):
    lengths = set()
    for split in splits_of(config).values():
        assert split.x.shape[1] == int(split.mask.sum(dim=1).max())  # padded to the longest
        for n in range(len(split.x)):
            steps = int(split.mask[n].sum())
            assert split.mask[n, :steps].all()  # valid steps first, then padding
            assert not split.x[n, steps:].any() and not split.y[n, steps:].any()
            assert torch.equal(split.x[n, :steps].sum(dim=-1), torch.ones(steps))
            string = "".join(SYMBOLS[i] for i in split.x[n, :steps].argmax(dim=-1)) + "E"
            assert accepts(string)
            assert string[1] == string[-2]
            expected = torch.zeros(steps, len(SYMBOLS))
            for t, allowed in enumerate(legal_next(string)[:-1]):
                expected[t, [SYMBOLS.index(s) for s in allowed]] = 1.0
            assert torch.equal(split.y[n, :steps], expected)
            lengths.add(steps)
    assert len(lengths) > 3  # strings of varied length, so padding is exercised


def test_reber_accuracy_ignores_padding_and_needs_every_step():
    task = build_task(CASES["reber"])
    split = task.splits()["test"]
    predictions = split.y.clone()
    predictions[~split.mask] = 1.0  # nonsense on the padding is not counted
    assert task.metrics(predictions, split)["accuracy"] == 1.0
    predictions[0, 0, SYMBOLS.index("E")] = 0.9  # one wrong symbol at one step of one string
    assert task.metrics(predictions, split)["accuracy"] == pytest.approx(1.0 - 1.0 / len(split.x))


# --- config errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: LatchConfig(seq_len=1), "greater than or equal to 2"),
        (lambda: LatchConfig(noise=0.1), "Extra inputs are not permitted"),
        (lambda: LatchConfig(seq_len="10"), "valid integer"),
        (lambda: TwoSequenceConfig(seq_len=1), "greater than or equal to 2"),
        (lambda: TwoSequenceConfig(seq_len=5, num_informative=5), "must be less than seq_len"),
        (lambda: TwoSequenceConfig(num_informative=0), "greater than or equal to 1"),
        (lambda: ParityConfig(seq_len=1), "greater than or equal to 2"),
        (lambda: ParityConfig(noise=-0.1), "greater than or equal to 0"),
        (lambda: ParityConfig(noise=1.0), "less than 1"),
        (lambda: AddingConfig(form="lstm97"), "'modern' or 'hochreiter1997'"),
        (lambda: AddingConfig(form="hochreiter1997", seq_len=9), "needs seq_len >= 10"),
        (lambda: CopyMemoryConfig(seq_len=0), "greater than or equal to 1"),
        (lambda: ReberConfig(num_train=0), "greater than or equal to 1"),
        (lambda: ReberConfig(seq_len=10), "Extra inputs are not permitted"),
    ],
)
def test_config_errors(make, message):
    with pytest.raises(ValidationError, match=message):
        make()


def test_config_error_in_a_run_config_names_the_task():
    data = {
        "model": {"kind": "lstm", "hidden_size": 4},
        "task": {"name": "two_sequence", "seq_len": 3, "num_informative": 3},
    }
    with pytest.raises(ConfigError, match=r"\[task\] num_informative \(3\) must be less than"):
        parse_config(data)
