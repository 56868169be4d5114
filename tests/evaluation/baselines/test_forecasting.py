"""Forecasting baselines: exact values by hand, the AR fit against statsmodels and simulation,
its intervals' coverage, backtest bookkeeping and the metrics worked by hand."""

import math
from functools import partial

import numpy as np
import pytest
from scipy.stats import norm

from rnnlab.evaluation.baselines.forecasting import (
    AutoRegressive,
    Backtest,
    Forecast,
    backtest,
    evaluate_baselines,
    forecast_metrics,
    mase_scale,
    naive,
    rolling_origins,
    seasonal_naive,
    select_ar_order,
)

Z90 = norm.ppf(0.95)


def simulate_ar(intercept, coefficients, sigma, n, seed, burn_in=500):
    rng = np.random.default_rng(seed)
    p = len(coefficients)
    y = np.zeros(n + burn_in)
    noise = rng.normal(0.0, sigma, n + burn_in)
    for t in range(p, n + burn_in):
        y[t] = intercept + np.dot(coefficients, y[t - p : t][::-1]) + noise[t]
    return y[burn_in:]


def test_naive_by_hand():
    forecast = naive(np.array([1.0, 2.0, 4.0, 7.0]), 3)
    assert forecast.mean.tolist() == [7.0, 7.0, 7.0]
    sigma = math.sqrt((1 + 4 + 9) / 3)  # lag-1 differences 1, 2, 3
    expected = [7.0 - Z90 * sigma * math.sqrt(h) for h in (1, 2, 3)]
    np.testing.assert_allclose(forecast.lower, expected, rtol=1e-12)
    np.testing.assert_allclose(forecast.upper, 14.0 - np.array(expected), rtol=1e-12)


def test_seasonal_naive_by_hand():
    history = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 11.0])
    forecast = seasonal_naive(history, 5, period=3)
    # steps 7, 8, 9, 10, 11 take the values at 4, 5, 6, 4, 5
    assert forecast.mean.tolist() == [20.0, 30.0, 11.0, 20.0, 30.0]
    sigma = math.sqrt((81 + 324 + 729 + 1) / 4)  # lag-3 differences 9, 18, 27, 1
    cycles = np.array([1, 1, 1, 2, 2])
    np.testing.assert_allclose(
        forecast.upper - forecast.mean, Z90 * sigma * np.sqrt(cycles), rtol=1e-12
    )
    with pytest.raises(ValueError, match="at least 4 values"):
        seasonal_naive(history[:3], 2, period=3)


def test_mase_scale_by_hand():
    train = np.array([1.0, 3.0, 2.0, 6.0])
    assert mase_scale(train) == pytest.approx(7 / 3)  # |2| + |-1| + |4|
    assert mase_scale(train, m=2) == pytest.approx(2.0)  # |2 - 1| + |6 - 3|
    with pytest.raises(ValueError, match="must be > 0"):
        mase_scale(np.ones(5))
    with pytest.raises(ValueError, match="n >= m \\+ 1 = 5"):
        mase_scale(train, m=4)


def test_rolling_origins():
    assert rolling_origins(10, 4, 2) == [6, 7, 8, 9]
    assert rolling_origins(10, 4, 4) == [6, 7, 8, 9]
    with pytest.raises(ValueError, match=r"test_length must be in 1 \.\. n - 1 = 9"):
        rolling_origins(10, 10, 1)
    with pytest.raises(ValueError, match="horizon must be <= test_length"):
        rolling_origins(10, 3, 4)
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        rolling_origins(10, 3, 0)


def test_backtest_marks_targets_past_the_end():
    series = np.arange(10.0)
    bt = backtest(naive, series, rolling_origins(10, 4, 2), 2)
    assert bt.origins.tolist() == [6, 7, 8, 9]
    np.testing.assert_array_equal(bt.mean, [[5, 5], [6, 6], [7, 7], [8, 8]])
    np.testing.assert_array_equal(bt.actual, [[6, 7], [7, 8], [8, 9], [9, np.nan]])
    metrics = forecast_metrics(bt, scale=1.0)
    assert metrics["mae"] == pytest.approx(10 / 7)  # errors 1, 2, 1, 2, 1, 2, 1
    assert metrics["per_horizon"]["mae"] == [1.0, 2.0]
    # every lag-1 difference is 1, so sigma = 1 and the half-widths 1.64 and 2.33 cover
    # the errors 1 and 2; a sigma twice too small would miss them all
    assert metrics["coverage_90"] == 1.0
    np.testing.assert_allclose(bt.upper - bt.mean, [[Z90, Z90 * math.sqrt(2)]] * 4)


def test_backtest_passes_the_full_history_when_given():
    values = np.column_stack([np.arange(8.0), 10 * np.arange(8.0)])  # (n, F)
    seen = []

    def forecaster(past, horizon):
        seen.append(past.shape)
        return Forecast(mean=np.full(horizon, past[-1, 1]))

    bt = backtest(forecaster, values[:, 0], [5, 7], 2, history=values)
    assert seen == [(5, 2), (7, 2)]
    assert bt.lower is None and bt.upper is None
    np.testing.assert_array_equal(bt.mean, [[40, 40], [60, 60]])
    np.testing.assert_array_equal(bt.actual, [[5, 6], [7, np.nan]])
    assert "coverage_90" not in forecast_metrics(bt, scale=1.0)
    with pytest.raises(ValueError, match=r"origins must be a non-empty list in 1 .. 7"):
        backtest(forecaster, values[:, 0], [0, 5], 2, history=values)


def test_forecast_metrics_by_hand():
    bt = Backtest(
        origins=np.array([3, 4]),
        mean=np.array([[1.0, 2.0], [3.0, 4.0]]),
        lower=np.array([[0.0, 2.5], [0.0, 0.0]]),
        upper=np.array([[3.0, 3.0], [0.5, 5.0]]),
        actual=np.array([[2.0, 2.0], [1.0, np.nan]]),
    )
    metrics = forecast_metrics(bt, scale=2.0)
    # errors: 1, 0 (origin 3); 2 (origin 4, step 1); none at origin 4, step 2
    assert metrics["mae"] == pytest.approx(1.0)
    assert metrics["rmse"] == pytest.approx(math.sqrt(5 / 3))
    assert metrics["mase"] == pytest.approx(0.5)
    assert metrics["coverage_90"] == pytest.approx(1 / 3)  # only 2 in [0, 3]
    assert metrics["per_horizon"] == {"mae": [1.5, 0.0], "mase": [0.75, 0.0]}


def test_ar_fit_recovers_a_simulated_ar2_and_matches_statsmodels():
    from statsmodels.tsa.ar_model import AutoReg

    y = simulate_ar(1.0, [0.6, -0.3], 1.0, 5000, seed=0)
    model = AutoRegressive.fit(y, 2)
    np.testing.assert_allclose(model.coefficients, [0.6, -0.3], atol=0.04)
    assert model.intercept == pytest.approx(1.0, abs=0.1)
    assert model.sigma == pytest.approx(1.0, abs=0.05)
    reference = AutoReg(y, lags=2, trend="c").fit()
    np.testing.assert_allclose([model.intercept, *model.coefficients], reference.params, rtol=1e-10)


def test_psi_weights_match_statsmodels():
    from statsmodels.tsa.arima_process import arma2ma

    model = AutoRegressive(0.0, np.array([0.6, -0.3, 0.1]), 1.0)
    np.testing.assert_allclose(
        model.psi_weights(8), arma2ma([1, -0.6, 0.3, -0.1], [1], lags=8), rtol=1e-12
    )


def test_ar_forecast_mean_and_variance_match_monte_carlo():
    model = AutoRegressive(0.5, np.array([0.6, -0.3]), 2.0)
    history = np.array([1.0, 3.0])
    H, N = 6, 40000
    rng = np.random.default_rng(1)
    paths = np.zeros((N, H + 2))
    paths[:, :2] = history
    for t in range(2, H + 2):
        paths[:, t] = 0.5 + 0.6 * paths[:, t - 1] - 0.3 * paths[:, t - 2] + rng.normal(0.0, 2.0, N)
    future = paths[:, 2:]  # (N, H)
    forecast = model.forecast(history, H)
    sigma = (forecast.upper - forecast.mean) / Z90
    np.testing.assert_allclose(future.mean(axis=0), forecast.mean, atol=4 * sigma.max() / N**0.5)
    # the sample variance's relative standard error is sqrt(2 / N) = 0.7 %
    np.testing.assert_allclose(future.var(axis=0), sigma**2, rtol=0.04)


def test_ar_one_step_interval_covers_ninety_percent():
    y = simulate_ar(0.5, [0.6, -0.3], 1.0, 4000, seed=2)
    model = AutoRegressive.fit(y[:2000], 2)
    bt = backtest(model.forecast, y, rolling_origins(4000, 2000, 1), 1)
    coverage = forecast_metrics(bt, scale=mase_scale(y[:2000]))["coverage_90"]
    # 2000 independent one-step errors: the binomial standard error is 0.67 %
    assert 0.87 < coverage < 0.93


def test_select_ar_order_finds_the_second_lag():
    y = simulate_ar(0.0, [0.3, 0.5], 1.0, 800, seed=3)
    assert select_ar_order(y, 300, 5, 1) >= 2
    with pytest.raises(ValueError, match=r"max_order must be in 1 \.\. 249"):
        select_ar_order(y, 300, 250, 1)


def test_evaluate_baselines_on_a_seasonal_series():
    rng = np.random.default_rng(4)
    t = np.arange(240)
    values = 10 + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.2, 240)
    results = evaluate_baselines(values, 200, 40, 6, period=12, max_order=14)
    assert set(results) == {"naive", "seasonal_naive", "autoregressive"}
    for metrics in results.values():
        assert len(metrics["per_horizon"]["mase"]) == 6
        assert 0.0 <= metrics["coverage_90"] <= 1.0
    # a random walk's widening interval misses a sine; the seasonal models' (on 40 test
    # values, whose cells share errors) are near 90 %
    assert results["naive"]["coverage_90"] < 0.7
    assert results["seasonal_naive"]["coverage_90"] > 0.7
    assert results["autoregressive"]["coverage_90"] > 0.7
    assert results["seasonal_naive"]["mase"] < 0.3 * results["naive"]["mase"]
    assert results["autoregressive"]["mase"] < 0.3 * results["naive"]["mase"]
    # the AR is fitted on the training part only: redo it by hand
    order = results["autoregressive"]["order"]
    model = AutoRegressive.fit(values[:200], order)
    bt = backtest(model.forecast, values, rolling_origins(240, 40, 6), 6)
    mae = forecast_metrics(bt, mase_scale(values[:200]))["mae"]
    assert results["autoregressive"]["mae"] == pytest.approx(mae, rel=1e-12)
    bt = backtest(partial(seasonal_naive, period=12), values, rolling_origins(240, 40, 6), 6)
    assert results["seasonal_naive"]["rmse"] == forecast_metrics(bt, 1.0)["rmse"]
    assert "seasonal_naive" not in evaluate_baselines(values, 200, 40, 6, None, max_order=3)
    with pytest.raises(ValueError, match=r"train_end must be in 1 \.\. n - test_length = 200"):
        evaluate_baselines(values, 201, 40, 6, period=12)
