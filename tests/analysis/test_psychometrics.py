"""Psychometric fits recover a known curve from synthetic choices; the choice regression
recovers known slopes; accuracy per condition counts as it should."""

import math

import numpy as np
import pytest
import torch
from scipy import special

from rnnlab.analysis.psychometrics import (
    accuracy_by_condition,
    choice_regression,
    fit_psychometric,
)

LEVELS = np.array([-16.0, -8, -4, -2, -1, 1, 2, 4, 8, 16])


def synthetic_choices(probability, trials_per_level=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = np.repeat(LEVELS, trials_per_level)
    return x, rng.random(x.size) < probability(x)


@pytest.mark.parametrize(("bias", "scale"), [(0.0, 2.0), (1.5, 3.0), (-2.0, 5.0)])
def test_a_cumulative_gaussian_fit_recovers_bias_and_scale(bias, scale):
    x, chose = synthetic_choices(lambda x: special.ndtr((x - bias) / scale))
    fit = fit_psychometric(x, chose)
    assert fit.converged
    assert abs(fit.bias - bias) < 0.1 * scale
    assert abs(fit.scale - scale) < 0.06 * scale
    assert fit.lapse == 0.0
    assert fit.monotone()
    assert fit.levels.tolist() == LEVELS.tolist()
    assert fit.trials.tolist() == [3000] * len(LEVELS)


def test_a_logistic_fit_with_lapses_recovers_all_three():
    bias, scale, lapse = 0.8, 2.5, 0.1
    x, chose = synthetic_choices(
        lambda x: lapse / 2 + (1 - lapse) * special.expit((x - bias) / scale), 6000, seed=1
    )
    fit = fit_psychometric(x, chose, form="logistic", lapse=True)
    assert abs(fit.bias - bias) < 0.2
    assert abs(fit.scale - scale) < 0.2
    assert abs(fit.lapse - lapse) < 0.02
    torch.testing.assert_close(
        fit.probability(LEVELS), lapse / 2 + (1 - lapse) * special.expit((LEVELS - bias) / scale),
        atol=0.02, rtol=0,
    )  # fmt: skip


def test_the_fit_is_maximum_likelihood():
    x, chose = synthetic_choices(lambda x: special.ndtr(x / 3), 200, seed=2)
    fit = fit_psychometric(x, chose)

    def log_likelihood(bias, scale):
        p = special.ndtr((x - bias) / scale)
        return np.sum(np.where(chose, np.log(p), np.log1p(-p)))

    assert math.isclose(fit.log_likelihood, log_likelihood(fit.bias, fit.scale), rel_tol=1e-9)
    for bias, scale in ((fit.bias + 0.05, fit.scale), (fit.bias, fit.scale * 1.02)):
        assert log_likelihood(bias, scale) < fit.log_likelihood


def test_a_curve_that_falls_is_not_monotone():
    x, chose = synthetic_choices(
        lambda x: np.where(np.abs(x) == 4, 1 - special.ndtr(x), special.ndtr(x / 3))
    )
    assert not fit_psychometric(x, chose).monotone()


def test_the_choice_regression_recovers_known_slopes_per_context():
    """Mante et al.'s analysis: in each context the relevant coherence drives the choices."""
    rng = np.random.default_rng(3)
    N = 40000
    motion = rng.choice([-10.0, -3, -1, 1, 3, 10], N)
    colour = rng.choice([-10.0, -3, -1, 1, 3, 10], N)
    context = rng.integers(2, size=N)
    slopes = {0: (0.9, 0.05), 1: (0.02, 0.6)}  # (motion, colour) in each context
    logit = np.where(context == 0, 0.3 + 0.9 * motion + 0.05 * colour,
                     -0.2 + 0.02 * motion + 0.6 * colour)  # fmt: skip
    chose = rng.random(N) < special.expit(logit)
    for k, (b_motion, b_colour) in slopes.items():
        rows = context == k
        fit = choice_regression(chose[rows], {"motion": motion[rows], "colour": colour[rows]})
        assert fit.converged and fit.names == ("intercept", "motion", "colour")
        for name, slope in (("motion", b_motion), ("colour", b_colour)):
            assert abs(fit.coefficients[name] - slope) < 4 * fit.standard_errors[name] + 1e-3
        assert abs(fit.coefficients["intercept"] - (0.3 if k == 0 else -0.2)) < 0.1


def test_the_choice_regression_matches_statsmodels():
    statsmodels = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 500))
    chose = (rng.random(500) < special.expit(0.4 + 1.3 * a - 0.7 * b)).astype(float)
    fit = choice_regression(chose, {"a": a, "b": b})
    reference = statsmodels.Logit(chose, np.column_stack([np.ones(500), a, b])).fit(disp=0)
    np.testing.assert_allclose([fit.coefficients[k] for k in fit.names], reference.params,
                               rtol=1e-7)  # fmt: skip
    np.testing.assert_allclose([fit.standard_errors[k] for k in fit.names], reference.bse,
                               rtol=1e-6)  # fmt: skip
    assert math.isclose(fit.log_likelihood, reference.llf, rel_tol=1e-9)


def test_separable_choices_do_not_converge_without_a_ridge():
    x = np.array([-2.0, -1, 1, 2] * 10)
    chose = x > 0
    assert not choice_regression(chose, {"x": x}, max_iterations=50).converged
    fit = choice_regression(chose, {"x": x}, ridge=1.0)
    assert fit.converged and 0 < fit.coefficients["x"] < 10


def test_accuracy_by_condition_counts_each_level():
    correct = torch.tensor([True, False, True, True, False, True])
    strength = torch.tensor([1.0, 1.0, 4.0, 4.0, 16.0, 16.0])
    table = accuracy_by_condition(correct, strength)
    assert table.levels.tolist() == [1.0, 4.0, 16.0]
    assert table.accuracy.tolist() == [0.5, 1.0, 0.5]
    assert table.counts.tolist() == [2, 2, 2]
    assert table.at(4) == 1.0
    assert table.as_dict()["16"] == {"accuracy": 0.5, "trials": 2}
    with pytest.raises(KeyError, match="no trials at level 2"):
        table.at(2)


@pytest.mark.parametrize(
    ("call", "message"),
    [(lambda: fit_psychometric([1.0, 1.0], [0, 1]), "at least two stimulus levels"),
     (lambda: fit_psychometric([1.0, 2.0], [0, 2]), "must be 0 or 1"),
     (lambda: fit_psychometric([1.0, 2.0, 3.0], [0, 1]), "differ in length"),
     (lambda: fit_psychometric([1.0, 2.0], [0, 1], form="probit"), "form must be"),
     (lambda: choice_regression([0, 1], {}), "at least one regressor"),
     (lambda: choice_regression([0, 1], {"x": [1.0, np.nan]}), "x must be finite")],
)  # fmt: skip
def test_bad_inputs_are_refused_with_what_was_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()
