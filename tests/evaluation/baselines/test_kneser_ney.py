"""The interpolated Kneser-Ney n-gram: a proper distribution, the textbook formula, real text."""

import math
import random
from pathlib import Path

import pytest

from rnnlab.evaluation.baselines.kneser_ney import UNKNOWN, KneserNey, best_kneser_ney

SHAKESPEARE = Path(__file__).resolve().parents[4] / "shared/data/text/tinyshakespeare.txt"


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_probabilities_sum_to_one_in_every_context(n):
    rng = random.Random(n)
    text = "".join(rng.choice("abcde ") for _ in range(2000))
    model = KneserNey(text, n)
    contexts = ["", "a", "ab", "eeee", "zz", text[100:110], text[-4:]]
    for context in contexts:
        total = sum(model.probability(context, c) for c in model.symbols)
        assert total == pytest.approx(1.0, abs=1e-12), context


def test_bigram_matches_the_formula_worked_by_hand():
    # Chen & Goodman's interpolated Kneser-Ney written out for one bigram model, from the
    # definitions in the module docstring, with no code shared with the model.
    text = "abracadabra"
    model = KneserNey(text, 2)
    bigrams = [text[i : i + 2] for i in range(len(text) - 1)]
    counts = {g: bigrams.count(g) for g in set(bigrams)}
    n1 = sum(c == 1 for c in counts.values())
    n2 = sum(c == 2 for c in counts.values())
    D2 = n1 / (n1 + 2 * n2)
    # continuation counts of single characters: distinct left neighbours (+1 for the start)
    left = {c: {g[0] for g in counts if g[1] == c} for c in set(text)}
    continuation = {c: len(left[c]) + (c == text[0]) for c in set(text)}
    u1 = sum(v == 1 for v in continuation.values())
    u2 = sum(v == 2 for v in continuation.values())
    D1 = u1 / (u1 + 2 * u2)
    total1 = sum(continuation.values())
    V = len(set(text)) + 1
    p1_a = (continuation["a"] - D1) / total1 + D1 * len(continuation) / total1 / V
    after_b = {g: c for g, c in counts.items() if g[0] == "b"}  # only "br", twice
    p2_r = (counts["br"] - D2) / sum(after_b.values()) + D2 * len(after_b) / 2 * (
        (continuation["r"] - D1) / total1 + D1 * len(continuation) / total1 / V
    )
    p2_a = D2 * len(after_b) / 2 * p1_a  # "ba" never occurs
    assert model.probability("b", "r") == pytest.approx(p2_r, rel=1e-12)
    assert model.probability("b", "a") == pytest.approx(p2_a, rel=1e-12)
    # an unseen character gets only the uniform share
    assert model.probability("b", "z") == pytest.approx(
        D2 * len(after_b) / 2 * D1 * len(continuation) / total1 / V, rel=1e-12
    )
    assert UNKNOWN in model.symbols


def test_loss_is_mean_negative_log_probability():
    text = "the cat sat on the mat. " * 20
    model = KneserNey(text, 3)
    held_out = "the rat sat."
    expected = -sum(
        math.log(model.probability(held_out[max(i - 2, 0) : i], held_out[i]))
        for i in range(1, len(held_out))
    ) / (len(held_out) - 1)
    assert model.loss(held_out) == pytest.approx(expected)


def test_on_shakespeare_longer_contexts_help_up_to_a_point():
    text = SHAKESPEARE.read_text(encoding="utf-8")[:200_000]
    model, losses = best_kneser_ney(text[:180_000], text[180_000:], max_n=5)
    assert losses[1] > losses[2] > losses[3]  # characters depend on what came before
    assert 1.5 < losses[model.n] < 2.5  # nats per character, the range of a 200 kB text
    assert model.n == min(losses, key=losses.get)


@pytest.mark.parametrize(("text", "n", "message"), [("abc", 0, "at least 1"), ("ab", 3, "hold")])
def test_bad_arguments_are_clear_errors(text, n, message):
    with pytest.raises(ValueError, match=message):
        KneserNey(text, n)
