"""CTC: the loss of tiny cases against the sum over every alignment enumerated by brute force
(float64), decoding, and the edit distance."""

import itertools
import math

import numpy as np
import pytest
import torch

from rnnlab.evaluation.ctc import (
    collapse,
    edit_distance,
    error_rates,
    greedy_decode,
    prefix_beam_search,
)
from rnnlab.losses import ctc_loss
from rnnlab.tasks.digit_strings import alignable


def brute_force_probability(log_probs: np.ndarray, labels: list[int]) -> float:
    """The sum, over every path of T classes that collapses to ``labels``, of its probability."""
    T, C = log_probs.shape
    total = 0.0
    for path in itertools.product(range(C), repeat=T):
        if collapse(path) == list(labels):
            total += math.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    return total


CASES = [([1], 1), ([1], 3), ([2, 1], 4), ([1, 1], 3), ([1, 1], 5), ([1, 2, 1], 5), ([2, 2], 4)]


@pytest.mark.parametrize("labels, T", CASES, ids=[f"{''.join(map(str, l))}-T{t}" for l, t in CASES])
def test_ctc_loss_is_minus_log_the_sum_over_alignments(labels, T):
    generator = torch.Generator().manual_seed(len(labels) * 10 + T)
    logits = torch.randn(1, T, 3, generator=generator, dtype=torch.float64)
    log_probs = torch.log_softmax(logits, -1)[0].numpy()
    expected = -math.log(brute_force_probability(log_probs, labels))
    y = torch.tensor([labels])
    loss = ctc_loss(logits, y, None, "ctc")  # divided by the label count
    assert abs(float(loss) * len(labels) - expected) < 1e-10
    torch_loss = torch.nn.functional.ctc_loss(
        torch.log_softmax(logits, -1).transpose(0, 1), y, torch.tensor([T]),
        torch.tensor([len(labels)]), blank=0, reduction="sum",
    )  # fmt: skip
    assert abs(float(torch_loss) - expected) < 1e-10


def test_padding_and_the_mask_leave_each_sequence_its_own_loss():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 3, generator=generator, dtype=torch.float64)
    y = torch.tensor([[1, 2], [2, 0]])  # the second has one label, padded with the blank
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    first = ctc_loss(logits[:1], y[:1], None, "ctc")
    second = ctc_loss(logits[1:, :3], y[1:, :1], None, "ctc")
    assert abs(float(ctc_loss(logits, y, mask, "ctc")) - float(first + second) / 2) < 1e-12


def test_a_repeated_label_needs_a_blank_between_so_too_few_frames_cannot_align():
    logits = torch.zeros(1, 2, 3, dtype=torch.float64)
    assert math.isinf(float(ctc_loss(logits, torch.tensor([[1, 1]]), None, "ctc")))  # not zeroed
    assert math.isfinite(float(ctc_loss(logits, torch.tensor([[1, 2]]), None, "ctc")))
    assert not alignable(2, [1, 1]) and alignable(3, [1, 1]) and alignable(2, [1, 2])
    assert alignable(5, [3, 3, 3]) and not alignable(4, [3, 3, 3])


def test_greedy_decoding_collapses_repeats_then_removes_blanks():
    assert collapse([1, 1, 0, 1, 2, 2, 0, 0]) == [1, 1, 2]
    assert collapse([1, 1]) == [1]  # without a blank, a repeat is one label
    assert collapse([0, 0]) == []
    posteriors = np.eye(3)[[2, 2, 0, 2, 1]]  # one-hot frames: 2 2 blank 2 1
    assert greedy_decode(posteriors) == [2, 2, 1]
    assert greedy_decode(posteriors, length=2) == [2]


@pytest.mark.parametrize("seed", range(4))
def test_prefix_beam_search_finds_the_most_likely_labelling(seed):
    rng = np.random.default_rng(seed)
    T, C = 4, 3
    log_probs = torch.log_softmax(torch.from_numpy(rng.normal(size=(T, C)) * 2), -1).numpy()
    labellings = {tuple(collapse(p)) for p in itertools.product(range(C), repeat=T)}
    probability = {lab: brute_force_probability(log_probs, list(lab)) for lab in labellings}
    best = max(probability, key=probability.get)
    found, log_p = prefix_beam_search(log_probs, beam=100)
    assert tuple(found) == best
    assert abs(log_p - math.log(probability[best])) < 1e-10


def test_the_best_labelling_need_not_be_the_best_path():
    # Path 0 0 has probability 0.36, but the labelling 1 collects 0.16 + 0.24 + 0.24 = 0.64.
    log_probs = np.log(np.array([[0.6, 0.4, 1e-12], [0.6, 0.4, 1e-12]]))
    assert greedy_decode(log_probs) == []
    assert prefix_beam_search(log_probs, beam=4)[0] == [1]


def test_edit_distance_and_error_rates():
    assert edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert edit_distance([1, 2, 3], [1, 3]) == 1
    assert edit_distance([1, 2, 3], [3, 2, 1]) == 2
    assert edit_distance([], [4, 4]) == 2
    rates = error_rates([[1, 2, 3], [4]], [[1, 3], [4]])
    assert rates == {"digit_error_rate": 0.25, "string_accuracy": 0.5}
