"""Forecasting: no look-ahead in the splits or the scaler, the Gaussian loss against torch's,
forecasts against the network run by hand (direct and recursive), and the backtest."""

import numpy as np
import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.models.config import GRUConfig, build_model
from rnnlab.tasks.base import masked_loss, predictions_from_outputs
from rnnlab.tasks.forecasting import ForecastConfig, Forecasting


def sunspots(**options) -> Forecasting:
    return Forecasting(ForecastConfig(series="sunspots", **options))


def network_for(task: Forecasting, seed: int = 0):
    torch.manual_seed(seed)
    config = GRUConfig(kind="gru", hidden_size=5)
    return build_model(config, task.input_size, task.output_size).eval()


def test_parts_and_scaler_see_no_future():
    task = sunspots(transform="sqrt")
    assert (task.val_start, task.test_start) == (309 - 60, 309 - 40)
    later = task.series.values.copy()
    later[task.val_start :] *= 10
    from rnnlab.tasks.time_series import Scaler

    refitted = Scaler.fit(later[: task.val_start], "sqrt")
    assert np.allclose(refitted.mean, task.scaler.mean) and np.allclose(
        refitted.std, task.scaler.std
    )


def test_training_targets_all_lie_before_validation():
    task = sunspots(horizon=10, window=30)
    train = task.splits()["train"]
    scaled = task.scaled[:, 0]
    # Every training target value appears in the scaled series before val_start, in order.
    last_window = train.x[-1, :, 0].double().numpy()
    end = task.val_start - 10 - 1  # the last input step of the last window
    assert np.allclose(last_window, scaled[end - 29 : end + 1], atol=1e-6)
    assert np.allclose(train.y[-1, -1].double().numpy(), scaled[end + 1 : end + 11], atol=1e-6)
    assert end + 10 == task.val_start - 1
    assert train.mask[:, : 30 // 4].sum() == 0 and train.mask[:, 30 // 4 :].all()


def test_validation_windows_end_before_each_origin_with_the_loss_at_the_end():
    task = sunspots(horizon=5, val_length=12, window=20)
    val = task.splits()["val"]
    assert val.x.shape == (12 - 5 + 1, 20, 1) and val.y.shape == (8, 20, 5)
    assert val.mask[:, -1].all() and val.mask[:, :-1].sum() == 0
    first_origin = task.val_start
    assert np.allclose(val.y[0, -1].double().numpy(),
                       task.scaled[first_origin : first_origin + 5, 0], atol=1e-6)  # fmt: skip


def test_gaussian_nll_is_torchs_up_to_its_constant():
    torch.manual_seed(0)
    outputs, y = (
        torch.randn(3, 4, 6, dtype=torch.float64),
        torch.randn(3, 4, 3, dtype=torch.float64),
    )
    mean, log_variance = outputs.chunk(2, -1)
    expected = torch.nn.functional.gaussian_nll_loss(mean, y, log_variance.exp(), eps=0)
    assert float(masked_loss(outputs, y, None, "gaussian_nll")) == pytest.approx(float(expected))
    predicted = predictions_from_outputs(outputs, "gaussian_nll")
    torch.testing.assert_close(predicted[..., 3:], (0.5 * log_variance).exp())


def test_direct_forecast_is_the_last_output_unscaled():
    task = sunspots(transform="sqrt", horizon=4, val_length=10, test_length=10)
    network = network_for(task)
    history = task.scaled[:200]
    forecast = task.forecast(network, history)
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
    forecast = task.forecast(network, history)
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
    first, second = (task.forecast(network, task.scaled[:150]) for _ in range(2))
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
    metrics = task.evaluate_network(network, "test", None, full=True)
    assert set(metrics) >= {"mae", "rmse", "mase", "coverage_90", "per_horizon"}
    assert len(metrics["per_horizon"]["mae"]) == 3
    result, scale = task.backtest(network, "test")
    assert list(result.origins) == list(range(299, 309))
    valid = ~np.isnan(result.actual)
    assert valid.sum() == 10 + 9 + 8
    assert metrics["mae"] == pytest.approx(np.abs(result.mean - result.actual)[valid].mean())
    assert metrics["mase"] == pytest.approx(metrics["mae"] / scale)
    baselines = task.baselines("test")
    assert set(baselines) == {"naive", "seasonal_naive", "autoregressive"}


def test_mistakes_are_clear_errors():
    with pytest.raises(ConfigError, match="exactly one of series"):
        Forecasting(ForecastConfig())
    with pytest.raises(ConfigError, match="needs one variable"):
        Forecasting(ForecastConfig(series="macrodata", strategy="recursive"))
    with pytest.raises(ConfigError, match="horizon"):
        sunspots(horizon=30)
    with pytest.raises(ConfigError, match="target"):
        sunspots(target="nope")
    task = sunspots(horizon=3, val_length=10, test_length=10)
    with pytest.raises(ConfigError, match="forecasts 3 steps at once"):
        task.forecast(network_for(task), task.scaled, horizon=5)


def test_multivariate_inputs_forecast_one_target():
    task = Forecasting(ForecastConfig(series="macrodata", columns=["realgdp", "realcons", "unemp"],
                                      target="unemp", horizon=4, window=12, val_length=12,
                                      test_length=12, transform="none"))  # fmt: skip
    assert task.input_size == 3 and task.output_size == 8
    forecast = task.forecast(network_for(task), task.scaled[:100])
    assert forecast.mean.shape == (4,)
    # The forecast is in the target's units (unemployment, percent), not the first column's.
    assert 0 < np.median(forecast.mean) < 20


@torch.no_grad()
def test_highway_adds_a_linear_map_of_the_last_k_inputs():
    from rnnlab.errors import ConfigError as Error

    config = GRUConfig(kind="gru", hidden_size=4, highway=3)
    torch.manual_seed(0)
    network = build_model(config, 2, 5).double()
    x = torch.randn(2, 6, 2, dtype=torch.float64)
    outputs, _ = network(x)
    hidden, _ = network.layer(x)
    weight, bias = network.highway.weight, network.highway.bias  # (O, I, k), (O,)
    for t in range(6):
        expected = network.readout(hidden[:, t]) + bias
        for j in range(3):  # kernel position j reads input t - 2 + j
            if t - 2 + j >= 0:
                expected = expected + x[:, t - 2 + j] @ weight[:, :, j].T
        torch.testing.assert_close(outputs[:, t], expected)
    with pytest.raises(Error, match="highway"):
        build_model(config, 10, 5, tokens=True)


def test_an_ensemble_forecast_pools_its_members():
    task = sunspots(horizon=3, val_length=10, test_length=10, samples=4000)
    one, two = network_for(task, 0), network_for(task, 1)
    single = task.forecast(one, task.scaled[:200])
    doubled = task.forecast([one, one], task.scaled[:200])
    # Two copies of one normal distribution: the mixture is that distribution.
    spread = single.upper - single.lower
    assert np.allclose(doubled.mean, single.mean, atol=0.03 * spread.max())
    assert np.allclose(doubled.upper, single.upper, atol=0.05 * spread.max())
    mixed = task.forecast([one, two], task.scaled[:200])
    first, second = task.forecast(two, task.scaled[:200]), single
    low = np.minimum(first.mean, second.mean) - 1e-9
    high = np.maximum(first.mean, second.mean) + 1e-9
    assert ((low <= mixed.mean) & (mixed.mean <= high)).all()
    point = sunspots(horizon=3, val_length=10, test_length=10, output="point")
    a, b = network_for(point, 0), network_for(point, 1)
    history = point.scaled[:200]
    averaged = point.forecast([a, b], history).mean
    assert np.allclose(
        averaged, (point.forecast(a, history).mean + point.forecast(b, history).mean) / 2
    )


def test_refit_trains_on_everything_before_the_test_part():
    task = sunspots(refit=True, horizon=10, window=30)
    train = task.splits()["train"]
    last_input = task.test_start - 10 - 1
    assert np.allclose(train.y[-1, -1].double().numpy(),
                       task.scaled[last_input + 1 : last_input + 11, 0], atol=1e-6)  # fmt: skip
    assert last_input + 10 == task.test_start - 1
    from rnnlab.tasks.time_series import Scaler

    expected = Scaler.fit(task.series.values[: task.test_start], "none")
    assert np.allclose(expected.mean, task.scaler.mean)


def test_least_squares_start_makes_the_network_a_linear_forecaster():
    config = GRUConfig(kind="gru", hidden_size=4, highway=5)
    task = sunspots(horizon=3, window=12, val_length=10, test_length=10)
    torch.manual_seed(0)
    network = build_model(config, task.input_size, task.output_size)
    task.initialise(network)
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
