"""Forecasts of a trained network, backtested from rolling origins; the forecasting baselines.

From every origin o of the validation or test part (as
:func:`rnnlab.evaluation.baselines.forecasting.rolling_origins`) the network reads the
``window`` steps before o and forecasts steps o .. o + H - 1 (see
:mod:`rnnlab.tasks.forecasting` for the task's data, strategies and outputs); ``mae``,
``rmse``, ``mase`` (scaled by the in-sample one-step naive MAE before the part) and
``coverage_90`` over every forecast whose target exists, on the original scale. Validation
reports them at every evaluation (:func:`quick`; ``val_mase`` can drive early stopping);
``rnnlab evaluate`` (:func:`report`) adds a PNG of the forecasts and :func:`baselines` the
naive, seasonal-naive and autoregressive baselines, fitted on everything before the part.

``network`` may be one network or an :class:`~rnnlab.models.ensemble.Ensemble` (or a list of
networks, made into one).
"""

from pathlib import Path

import numpy as np
import torch

from rnnlab.errors import ConfigError
from rnnlab.evaluation.baselines.forecasting import (
    Forecast,
    forecast_metrics,
    mase_scale,
    rolling_origins,
)
from rnnlab.evaluation.baselines.forecasting import backtest as rolling_backtest
from rnnlab.evaluation.baselines.forecasting import evaluate_baselines as forecast_baselines
from rnnlab.losses import predictions_from_outputs
from rnnlab.models.ensemble import members
from rnnlab.tasks.forecasting import Z_90, Forecasting


@torch.no_grad()
def forecast(
    task: Forecasting, network, history: np.ndarray, horizon: int | None = None
) -> Forecast:
    """The forecast (original units) of the ``horizon`` target values after the scaled
    ``history`` (o, F), from its last ``window`` steps.

    ``network`` may be a list of networks (seeds of one config), an *ensemble*: with
    Gaussian outputs the forecast is the median and the interval the central 90 % of the
    equal mixture of their distributions (from ``samples`` seeded draws of each); with
    point outputs, the mean of their forecasts.
    """
    networks = members(network)
    horizon = horizon or task.config.horizon
    if task.config.strategy == "direct" and horizon > task.config.horizon:
        raise ConfigError(
            f"this network forecasts {task.config.horizon} steps at once (direct); "
            f"got horizon {horizon}"
        )
    dtype = next(networks[0].parameters()).dtype
    x = torch.tensor(history[-task.config.window :], dtype=dtype)[None]  # (1, W, F)
    generator = torch.Generator().manual_seed(task.config.seed)
    gaussian = task.config.output == "gaussian"
    means, draws = [], []
    for member in networks:
        member.eval()
        if task.config.strategy == "recursive":
            paths = _recursive_paths(task, member, x, horizon, generator)  # (P, H)
            means.append(paths[0])
            draws.append(paths)
            continue
        outputs, _ = member(x)
        predicted = predictions_from_outputs(outputs[0, -1], task.loss).double()
        mean = predicted[: task.steps][:horizon]
        means.append(mean.numpy())
        if gaussian:
            std = predicted[task.steps :][:horizon]
            if len(networks) == 1:  # one normal distribution: its exact quantiles
                mean, std = mean.numpy(), std.numpy()
                return _interval(task, mean, mean - Z_90 * std, mean + Z_90 * std)
            noise = torch.randn(task.config.samples, horizon, generator=generator)
            draws.append((mean + std * noise.double()).numpy())
    if not gaussian:
        return Forecast(task.inverse(np.mean(means, axis=0)))
    pooled = np.concatenate(draws)  # (members * samples, H)
    lower, median, upper = np.quantile(pooled, [0.05, 0.5, 0.95], axis=0)
    return _interval(task, median, lower, upper)


def _recursive_paths(task: Forecasting, network, x, horizon: int, generator) -> np.ndarray:
    """Slide the window over each forecast, fed back as the next input: (P, H) scaled
    paths; Gaussian: ``samples`` paths, each feeding back a draw from its forecast
    distribution."""
    gaussian = task.config.output == "gaussian"
    window = x.expand(task.config.samples if gaussian else 1, -1, -1)  # (P, W, 1)
    values = []
    for _ in range(horizon):
        outputs, _ = network(window)
        predicted = predictions_from_outputs(outputs[:, -1], task.loss)  # (P, 1) or (P, 2)
        value = predicted[:, :1]
        if gaussian:
            noise = torch.randn(value.shape, generator=generator, dtype=value.dtype)
            value = value + predicted[:, 1:] * noise
        values.append(value[:, 0])
        window = torch.cat([window[:, 1:], value[:, None]], dim=1)
    return torch.stack(values, 1).double().numpy()


def _interval(task: Forecasting, mean, lower, upper) -> Forecast:
    # The transform and scaling are increasing, so quantiles map to quantiles.
    return Forecast(task.inverse(mean), task.inverse(lower), task.inverse(upper))


def backtest(task: Forecasting, network, split: str):
    """The rolling-origin backtest of ``split`` and its MASE scale."""
    start, end = task.part(split)
    origins = rolling_origins(end, end - start, task.config.horizon)
    actual = task.series.values[:end, task.target]
    result = rolling_backtest(
        lambda history, horizon: forecast(task, network, history, horizon),
        actual, origins, task.config.horizon, history=task.scaled[:end],
    )  # fmt: skip
    return result, mase_scale(task.series.values[:start, task.target])


def quick(task: Forecasting, network, split: str) -> dict:
    """The backtest's metrics without the per-horizon detail (during training)."""
    return evaluate(task, network, split, None, full=False)


def report(task: Forecasting, network, split: str, predictions, directory: Path | None) -> dict:
    """The backtest's metrics, per horizon too, and the PNG of the forecasts."""
    return evaluate(task, network, split, directory, full=True)


def evaluate(task: Forecasting, network, split: str, directory: Path | None, full: bool) -> dict:
    result, scale = backtest(task, network, split)
    metrics = forecast_metrics(result, scale)
    if not full:
        metrics.pop("per_horizon")
        return metrics
    if directory is not None:
        metrics["forecast_png"] = str(plot_backtest(task, result, Path(directory), split))
    return metrics


def baselines(task: Forecasting, split: str) -> dict[str, dict]:

    start, end = task.part(split)
    return forecast_baselines(
        task.series.values[:end, task.target], start, end - start, task.config.horizon,
        task.series.period,
    )  # fmt: skip


def future(task: Forecasting, network, horizon: int) -> tuple[np.ndarray, Forecast]:
    """The forecast of the ``horizon`` steps after the end of the series and their times."""
    result = forecast(task, network, task.scaled, horizon)
    times = task.series.times
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    return times[-1] + step * np.arange(1, horizon + 1), result


def plot_backtest(task: Forecasting, result, directory: Path, split: str) -> Path:
    """The actual series over the part and the 1-step and H-step forecasts, intervals
    shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times, actual = task.series.times, task.series.values[:, task.target]
    start, end = task.part(split)
    first = max(0, start - 3 * task.config.horizon)
    figure, axes = plt.subplots(figsize=(9, 4), layout="constrained")
    axes.plot(times[first:end], actual[first:end], color="black", label="actual")
    for h, color in ((1, "tab:blue"), (task.config.horizon, "tab:orange")):
        steps = result.origins + h - 1
        valid = steps < end
        axes.plot(times[steps[valid]], result.mean[valid, h - 1], color=color,
                  label=f"{h}-step forecast")  # fmt: skip
        if result.lower is not None:
            axes.fill_between(times[steps[valid]], result.lower[valid, h - 1],
                              result.upper[valid, h - 1], color=color, alpha=0.15)  # fmt: skip
    axes.axvline(times[start], color="grey", linestyle=":")
    axes.set_xlabel("time")
    axes.set_ylabel(task.series.columns[task.target])
    axes.set_title(f"{task.series.name}: forecasts from rolling origins ({split}), 90 %")
    axes.legend()
    path = directory / f"forecast_{split}.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_future(task: Forecasting, times: np.ndarray, forecast: Forecast, path: Path) -> Path:
    """The end of the series and the forecast beyond it, with its 90 % interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    past = task.series.times[-100:], task.series.values[-100:, task.target]
    figure, axes = plt.subplots(figsize=(9, 4), layout="constrained")
    axes.plot(*past, color="black", label="observed")
    axes.plot(times, forecast.mean, color="tab:blue", marker="o", label="forecast")
    if forecast.lower is not None:
        axes.fill_between(times, forecast.lower, forecast.upper, color="tab:blue", alpha=0.2,
                          label="90 % interval")  # fmt: skip
    axes.set_xlabel("time")
    axes.set_ylabel(task.series.columns[task.target])
    axes.set_title(f"{task.series.name}: forecast of {len(times)} steps")
    axes.legend()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)
