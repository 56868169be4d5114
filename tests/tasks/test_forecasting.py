"""Forecasting: no look-ahead in the splits or the scaler, the Gaussian loss against torch's,
forecasts against the network run by hand (direct and recursive), and the backtest."""

import numpy as np
import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.evaluation import forecasting
from rnnlab.losses import masked_loss, predictions_from_outputs
from rnnlab.models.config import GRUConfig, build_model
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
        forecasting.forecast(task, network_for(task), task.scaled, horizon=5)


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
        build_model(config, 10, 5, inputs="tokens")


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
