"""Forecasts of a trained network against the network run by hand (direct and recursive),
the backtest and its baselines, ensembles, and the least-squares start of the highway."""

import numpy as np
import pytest
import torch

from rnnlab.evaluation import forecasting
from rnnlab.models.config import GRUConfig, build_model
from rnnlab.tasks.forecasting import ForecastConfig, Forecasting
from rnnlab.train.build import initialise
from tests.tasks.test_forecasting import network_for, sunspots


def test_direct_forecast_is_the_last_output_unscaled():
    task = sunspots(transform="sqrt", horizon=4, val_length=10, test_length=10)
    network = network_for(task)
    history = task.scaled[:200]
    forecast = forecasting.forecast(task, network, history)
    with torch.no_grad():
        outputs, _ = network(torch.tensor(history[-30:], dtype=torch.float32)[None])
    mean, log_variance = outputs[0, -1].double().chunk(2)
    std = (0.5 * log_variance).exp()
    unscale = lambda v: np.clip(v.numpy() * task.scaler.std[0] + task.scaler.mean[0], 0, None) ** 2  # noqa: E731
    assert np.allclose(forecast.mean, unscale(mean), rtol=1e-5)
    assert np.allclose(forecast.upper, unscale(mean + 1.6448536 * std), rtol=1e-5)
    assert (forecast.lower <= forecast.mean).all() and (forecast.mean <= forecast.upper).all()


def test_recursive_point_forecast_feeds_each_forecast_back():
    task = sunspots(strategy="recursive", output="point", horizon=3, val_length=10, test_length=10)
    network = network_for(task)
    history = task.scaled[:150].copy()
    forecast = forecasting.forecast(task, network, history)
    expected = []
    with torch.no_grad():
        for _ in range(3):
            outputs, _ = network(torch.tensor(history[-30:], dtype=torch.float32)[None])
            value = float(outputs[0, -1, 0])
            expected.append(value)
            history = np.concatenate([history, [[value]]])
    assert np.allclose(forecast.mean, task.scaler.inverse(np.array(expected), 0), rtol=1e-5)
    assert forecast.lower is None


def test_recursive_gaussian_paths_are_seeded_and_start_from_the_first_distribution():
    task = sunspots(strategy="recursive", horizon=5, samples=4000, val_length=10, test_length=10)
    network = network_for(task)
    first, second = (forecasting.forecast(task, network, task.scaled[:150]) for _ in range(2))
    assert np.array_equal(first.mean, second.mean) and np.array_equal(first.upper, second.upper)
    assert (first.lower < first.mean).all() and (first.mean < first.upper).all()
    # Step 1 is one normal distribution: its sample quantiles are mean -+ 1.645 sigma.
    with torch.no_grad():
        outputs, _ = network(torch.tensor(task.scaled[120:150], dtype=torch.float32)[None])
    mean, log_variance = (float(v) for v in outputs[0, -1])
    sigma = float(np.exp(0.5 * log_variance))
    lower, median, upper = (
        float(task.scaler.transform(np.array([[v]]))[0, 0])
        for v in (first.lower[0], first.mean[0], first.upper[0])
    )
    assert median == pytest.approx(mean, abs=0.06 * sigma)
    assert lower == pytest.approx(mean - 1.6448536 * sigma, abs=0.1 * sigma)
    assert upper == pytest.approx(mean + 1.6448536 * sigma, abs=0.1 * sigma)


def test_backtest_metrics_cover_every_test_value():
    task = sunspots(horizon=3, val_length=10, test_length=10)
    network = network_for(task)
    metrics = forecasting.evaluate(task, network, "test", None, full=True)
    assert set(metrics) >= {"mae", "rmse", "mase", "coverage_90", "per_horizon"}
    assert len(metrics["per_horizon"]["mae"]) == 3
    result, scale = forecasting.backtest(task, network, "test")
    assert list(result.origins) == list(range(299, 309))
    valid = ~np.isnan(result.actual)
    assert valid.sum() == 10 + 9 + 8
    assert metrics["mae"] == pytest.approx(np.abs(result.mean - result.actual)[valid].mean())
    assert metrics["mase"] == pytest.approx(metrics["mae"] / scale)
    baselines = forecasting.baselines(task, "test")
    assert set(baselines) == {"naive", "seasonal_naive", "autoregressive"}


def test_multivariate_inputs_forecast_one_target():
    task = Forecasting(ForecastConfig(series="macrodata", columns=["realgdp", "realcons", "unemp"],
                                      target="unemp", horizon=4, window=12, val_length=12,
                                      test_length=12, transform="none"))  # fmt: skip
    assert task.input_size == 3 and task.output_size == 8
    forecast = forecasting.forecast(task, network_for(task), task.scaled[:100])
    assert forecast.mean.shape == (4,)
    # The forecast is in the target's units (unemployment, percent), not the first column's.
    assert 0 < np.median(forecast.mean) < 20


def test_an_ensemble_forecast_pools_its_members():
    task = sunspots(horizon=3, val_length=10, test_length=10, samples=4000)
    one, two = network_for(task, 0), network_for(task, 1)
    single = forecasting.forecast(task, one, task.scaled[:200])
    doubled = forecasting.forecast(task, [one, one], task.scaled[:200])
    # Two copies of one normal distribution: the mixture is that distribution.
    spread = single.upper - single.lower
    assert np.allclose(doubled.mean, single.mean, atol=0.03 * spread.max())
    assert np.allclose(doubled.upper, single.upper, atol=0.05 * spread.max())
    mixed = forecasting.forecast(task, [one, two], task.scaled[:200])
    first, second = forecasting.forecast(task, two, task.scaled[:200]), single
    low = np.minimum(first.mean, second.mean) - 1e-9
    high = np.maximum(first.mean, second.mean) + 1e-9
    assert ((low <= mixed.mean) & (mixed.mean <= high)).all()
    point = sunspots(horizon=3, val_length=10, test_length=10, output="point")
    a, b = network_for(point, 0), network_for(point, 1)
    history = point.scaled[:200]
    averaged = forecasting.forecast(point, [a, b], history).mean
    assert np.allclose(
        averaged,
        (
            forecasting.forecast(point, a, history).mean
            + forecasting.forecast(point, b, history).mean
        )
        / 2,
    )


def test_least_squares_start_makes_the_network_a_linear_forecaster():
    config = GRUConfig(kind="gru", hidden_size=4, highway=5)
    task = sunspots(horizon=3, window=12, val_length=10, test_length=10)
    torch.manual_seed(0)
    network = build_model(config, task.input_size, task.output_size)
    initialise(task, network)
    train = task.splits()["train"]
    with torch.no_grad():
        outputs, _ = network(train.x)
    assert (network.readout.weight == 0).all()
    # The mean outputs are the least-squares fit: their residuals are orthogonal to the inputs.
    residual = (train.y - outputs[..., :3])[train.mask].double()  # (R, 3)
    assert residual.mean(0).abs().max() < 1e-3
    log_variance = outputs[..., 3:][train.mask]
    torch.testing.assert_close(
        log_variance.exp().mean(0), residual.var(0).float(), rtol=1e-3, atol=0
    )
