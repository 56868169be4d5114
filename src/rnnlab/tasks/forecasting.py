"""Time-series forecasting with a recurrent network, backtested from rolling origins.

**Data.** A series (:mod:`rnnlab.tasks.time_series`: the series statsmodels ships, or a CSV)
of n steps and F variables; one of them, ``target``, is forecast. It is cut in time::

    [0, val_start)            training: the network learns here; the scaler is fitted here
    [val_start, test_start)   validation: ``val_length`` steps (early stopping, model choice)
    [test_start, n)           test: the last ``test_length`` steps

The values are transformed (``none``, ``sqrt`` or ``log1p``) and standardised with the
training part's mean and deviation only, so nothing is learnt from the future. With
``refit = true`` (once the settings are chosen on the validation part) the network and the
scaler learn from everything before the test part, as the baselines do for the test; its
validation metrics are then in-sample.

**Network.** Any rnnlab layer reads ``window`` steps of all F variables and, at every step,
forecasts what follows:

- ``strategy = "direct"``: the next ``horizon`` target values at once (H outputs);
- ``strategy = "recursive"``: the next value only; longer forecasts feed each forecast back as
  the next input (univariate series only).

With ``output = "gaussian"`` each forecast value is a normal distribution (2 outputs: mean and
log-variance, loss the negative log-likelihood), which gives prediction intervals: directly
for "direct", from ``samples`` simulated paths for "recursive" (the point forecast is then
their median). ``output = "point"`` is trained on the squared error and has no interval. The
first quarter of each training window is a warm-up without loss (the state is still settling).

**Evaluation.** From every origin o of the validation or test part (as
:func:`rnnlab.baselines.forecasting.rolling_origins`) the network reads the ``window`` steps
before o and forecasts steps o .. o + H - 1; ``mae``, ``rmse``, ``mase`` (scaled by the
in-sample one-step naive MAE before the part) and ``coverage_90`` over every forecast whose
target exists, on the original scale. Validation reports them at every evaluation
(``val_mase`` can drive early stopping); ``rnnlab evaluate`` adds the naive, seasonal-naive and
autoregressive baselines, fitted on everything before the part, and a PNG of the forecasts.
"""

import json
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.baselines.forecasting import (
    Forecast,
    backtest,
    forecast_metrics,
    mase_scale,
    rolling_origins,
)
from rnnlab.errors import ConfigError
from rnnlab.tasks.base import Split, Task, predictions_from_outputs, seed_field
from rnnlab.tasks.time_series import Scaler, Series, load_series


class ForecastConfig(BaseModel):
    """``[task]`` of forecasting: one of ``series`` (built in) or ``path`` (CSV)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["forecast"] = "forecast"
    series: str | None = Field(None, description="sunspots, co2, elnino or macrodata")
    path: str | None = Field(None, description="a CSV file with a header row")
    columns: list[str] | None = Field(None, description="input variables (default: all)")
    target: str | None = Field(None, description="the variable to forecast (default: the first)")
    time_column: str | None = Field(None, description="CSV: the column of times")
    period: int | None = Field(None, ge=1, description="seasonal period (default: the series')")
    transform: Literal["none", "sqrt", "log1p"] = Field("none", description="before scaling")
    horizon: int = Field(10, ge=1, description="H, steps forecast from each origin")
    window: int = Field(30, ge=2, description="steps the network reads before each origin")
    test_length: int = Field(40, ge=1, description="the last steps, forecast from rolling origins")
    val_length: int = Field(20, ge=1, description="the steps before the test part")
    strategy: Literal["direct", "recursive"] = "direct"
    output: Literal["gaussian", "point"] = "gaussian"
    samples: int = Field(
        500, ge=10, description="gaussian: simulated paths (recursive), draws per ensemble member"
    )
    seed: int = seed_field("seed of the simulated paths")
    refit: bool = Field(
        False,
        description="train on the validation part too (settings chosen, for the test)",
    )
    highway_init: Literal["least_squares", "random"] = Field(
        "least_squares",
        description="with model.highway: start from the least-squares linear forecaster",
    )


Z_90 = 1.6448536269514722  # the standard normal's 95th percentile: mean +- Z_90 sd covers 90 %


class Forecasting(Task):
    """Forecast a series; see the module docstring."""

    name = "forecast"
    description = "forecast a time series (statsmodels' sunspots, co2, ... or a CSV) with backtests"
    stream = False
    network_ensembles = True

    def __init__(self, config: ForecastConfig) -> None:
        if (config.series is None) == (config.path is None):
            raise ConfigError("[task] give exactly one of series (built in) or path (a CSV file)")
        self.config = config
        self.series: Series = load_series(
            config.series, path=config.path, columns=config.columns,
            time_column=config.time_column, period=config.period,
        )  # fmt: skip
        columns = list(self.series.columns)
        target = config.target or columns[0]
        if target not in columns:
            raise ConfigError(f"[task] target {target!r} is not one of the columns {columns}")
        self.target = columns.index(target)
        if config.strategy == "recursive" and len(columns) > 1:
            raise ConfigError(
                "[task] strategy = 'recursive' feeds forecasts back as inputs, so it needs one "
                f"variable; got columns {columns} (use strategy = 'direct')"
            )
        n = len(self.series.values)
        self.test_start = n - config.test_length
        self.val_start = self.test_start - config.val_length
        steps = 1 if config.strategy == "recursive" else config.horizon
        needed = config.window + steps + 1
        if self.val_start < needed:
            raise ConfigError(
                f"[task] the training part has {self.val_start} steps (n = {n} minus "
                f"val_length and test_length); window + horizon needs at least {needed}"
            )
        if config.horizon > min(config.val_length, config.test_length):
            raise ConfigError(
                f"[task] horizon ({config.horizon}) must be at most val_length and test_length"
            )
        self.steps = steps  # forecast values per output step
        self.loss = "gaussian_nll" if config.output == "gaussian" else "mse"
        # With refit the validation part is training data too: chosen settings, more data.
        self.train_end = self.test_start if config.refit else self.val_start
        self.scaler = Scaler.fit(self.series.values[: self.train_end], config.transform)
        self.scaled = self.scaler.transform(self.series.values)  # (n, F)
        self.input_size = len(columns)
        self.output_size = steps * (2 if config.output == "gaussian" else 1)

    # -- data -----------------------------------------------------------------------------

    def _targets(self, t: int) -> np.ndarray:
        """The scaled target values after step t: (steps,)."""
        return self.scaled[t + 1 : t + 1 + self.steps, self.target]

    def _windows(self, last_steps: range, mask_from: int) -> Split:
        """One window of ``window`` steps ending at each step of ``last_steps``, with the
        loss on its steps from ``mask_from`` on."""
        W = self.config.window
        x = np.stack([self.scaled[t - W + 1 : t + 1] for t in last_steps])  # (N, W, F)
        y = np.stack(
            [np.stack([self._targets(s) for s in range(t - W + 1, t + 1)]) for t in last_steps]
        )  # (N, W, steps)
        mask = torch.zeros(len(last_steps), W, dtype=torch.bool)
        mask[:, mask_from:] = True
        return Split(
            x=torch.tensor(x, dtype=torch.float32), y=torch.tensor(y, dtype=torch.float32),
            mask=mask,
        )  # fmt: skip

    def splits(self) -> dict[str, Split]:
        W, S = self.config.window, self.steps
        # Training: every window whose every target lies before train_end.
        train = self._windows(range(W - 1, self.train_end - S), W // 4)
        # Validation and test: the windows ending just before each origin, loss at the end.
        val = self._windows(range(self.val_start - 1, self.test_start - S), W - 1)
        test = self._windows(range(self.test_start - 1, len(self.scaled) - S), W - 1)
        return {"train": train, "val": val, "test": test}

    def initialise(self, network) -> None:
        """With ``model.highway`` and ``highway_init = "least_squares"``: start from the best
        linear forecaster of the training windows, so that the network begins as a direct
        autoregression and its recurrent part learns what the linear part misses (the hybrid
        of Zhang 2003, "Time series forecasting using a hybrid ARIMA and neural network
        model", learnt jointly). The highway's mean outputs get the least-squares fit of
        the targets on the last k inputs, its log-variance outputs the log of the fit's
        residual variance per horizon step, and the recurrent readout starts at zero."""
        highway = getattr(network, "highway", None)
        if highway is None or self.config.highway_init != "least_squares":
            return
        k = highway.kernel_size[0]
        split = self.splits()["train"]
        x = torch.nn.functional.pad(split.x.double().transpose(1, 2), (k - 1, 0))  # (N, F, k-1+W)
        lags = x.unfold(2, k, 1)  # (N, F, W, k): the k inputs up to each step
        rows = lags.permute(0, 2, 1, 3).reshape(*split.mask.shape, -1)[split.mask]  # (R, F k)
        design = torch.cat([rows, torch.ones(len(rows), 1, dtype=rows.dtype)], 1)
        targets = split.y.double()[split.mask]  # (R, steps)
        solution = torch.linalg.lstsq(design, targets).solution  # (F k + 1, steps)
        residual = targets - design @ solution
        with torch.no_grad():
            weight = solution[:-1].T.reshape(self.steps, -1, k)  # (steps, F, k)
            highway.weight.zero_()
            highway.bias.zero_()
            highway.weight[: self.steps] = weight.to(highway.weight.dtype)
            highway.bias[: self.steps] = solution[-1].to(highway.bias.dtype)
            if self.config.output == "gaussian":
                highway.bias[self.steps :] = residual.var(0).log().to(highway.bias.dtype)
            network.readout.weight.zero_()
            network.readout.bias.zero_()

    # -- forecasts ------------------------------------------------------------------------

    @torch.no_grad()
    def forecast(self, network, history: np.ndarray, horizon: int | None = None) -> Forecast:
        """The forecast (original units) of the ``horizon`` target values after the scaled
        ``history`` (o, F), from its last ``window`` steps.

        ``network`` may be a list of networks (seeds of one config), an *ensemble*: with
        Gaussian outputs the forecast is the median and the interval the central 90 % of the
        equal mixture of their distributions (from ``samples`` seeded draws of each); with
        point outputs, the mean of their forecasts.
        """
        networks = network if isinstance(network, list) else [network]
        horizon = horizon or self.config.horizon
        if self.config.strategy == "direct" and horizon > self.config.horizon:
            raise ConfigError(
                f"this network forecasts {self.config.horizon} steps at once (direct); "
                f"got horizon {horizon}"
            )
        dtype = next(networks[0].parameters()).dtype
        x = torch.tensor(history[-self.config.window :], dtype=dtype)[None]  # (1, W, F)
        generator = torch.Generator().manual_seed(self.config.seed)
        gaussian = self.config.output == "gaussian"
        means, draws = [], []
        for member in networks:
            member.eval()
            if self.config.strategy == "recursive":
                paths = self._recursive_paths(member, x, horizon, generator)  # (P, H)
                means.append(paths[0])
                draws.append(paths)
                continue
            outputs, _ = member(x)
            predicted = predictions_from_outputs(outputs[0, -1], self.loss).double()
            mean = predicted[: self.steps][:horizon]
            means.append(mean.numpy())
            if gaussian:
                std = predicted[self.steps :][:horizon]
                if len(networks) == 1:  # one normal distribution: its exact quantiles
                    mean, std = mean.numpy(), std.numpy()
                    return self._interval(mean, mean - Z_90 * std, mean + Z_90 * std)
                noise = torch.randn(self.config.samples, horizon, generator=generator)
                draws.append((mean + std * noise.double()).numpy())
        if not gaussian:
            return Forecast(self._inverse(np.mean(means, axis=0)))
        pooled = np.concatenate(draws)  # (members * samples, H)
        lower, median, upper = np.quantile(pooled, [0.05, 0.5, 0.95], axis=0)
        return self._interval(median, lower, upper)

    def _recursive_paths(self, network, x, horizon: int, generator) -> np.ndarray:
        """Slide the window over each forecast, fed back as the next input: (P, H) scaled
        paths; Gaussian: ``samples`` paths, each feeding back a draw from its forecast
        distribution."""
        gaussian = self.config.output == "gaussian"
        window = x.expand(self.config.samples if gaussian else 1, -1, -1)  # (P, W, 1)
        values = []
        for _ in range(horizon):
            outputs, _ = network(window)
            predicted = predictions_from_outputs(outputs[:, -1], self.loss)  # (P, 1) or (P, 2)
            value = predicted[:, :1]
            if gaussian:
                noise = torch.randn(value.shape, generator=generator, dtype=value.dtype)
                value = value + predicted[:, 1:] * noise
            values.append(value[:, 0])
            window = torch.cat([window[:, 1:], value[:, None]], dim=1)
        return torch.stack(values, 1).double().numpy()

    def _inverse(self, scaled: np.ndarray) -> np.ndarray:
        return self.scaler.inverse(scaled, self.target)

    def _interval(self, mean, lower, upper) -> Forecast:
        # The transform and scaling are increasing, so quantiles map to quantiles.
        return Forecast(self._inverse(mean), self._inverse(lower), self._inverse(upper))

    def part(self, split: str) -> tuple[int, int]:
        """The first step of ``split``'s part and the end of the data it may see."""
        if split == "val":
            return self.val_start, self.test_start
        if split == "test":
            return self.test_start, len(self.scaled)
        raise ValueError(f"forecasts are evaluated on 'val' or 'test'; got {split!r}")

    def backtest(self, network, split: str):
        """The rolling-origin backtest of ``split`` and its MASE scale."""
        start, end = self.part(split)
        origins = rolling_origins(end, end - start, self.config.horizon)
        actual = self.series.values[:end, self.target]
        result = backtest(
            lambda history, horizon: self.forecast(network, history, horizon),
            actual, origins, self.config.horizon, history=self.scaled[:end],
        )  # fmt: skip
        return result, mase_scale(self.series.values[:start, self.target])

    def evaluate_network(self, network, split: str, directory: Path | None, full: bool) -> dict:
        result, scale = self.backtest(network, split)
        metrics = forecast_metrics(result, scale)
        if not full:
            metrics.pop("per_horizon")
            return metrics
        if directory is not None:
            metrics["forecast_png"] = str(self.plot_backtest(result, Path(directory), split))
        return metrics

    def baselines(self, split: str) -> dict[str, dict]:
        from rnnlab.baselines.forecasting import evaluate_baselines

        start, end = self.part(split)
        return evaluate_baselines(
            self.series.values[:end, self.target], start, end - start, self.config.horizon,
            self.series.period,
        )  # fmt: skip

    def future(self, network, horizon: int) -> tuple[np.ndarray, Forecast]:
        """The forecast of the ``horizon`` steps after the end of the series and their times."""
        forecast = self.forecast(network, self.scaled, horizon)
        times = self.series.times
        step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
        return times[-1] + step * np.arange(1, horizon + 1), forecast

    # -- figures and files ----------------------------------------------------------------

    def plot_backtest(self, result, directory: Path, split: str) -> Path:
        """The actual series over the part and the 1-step and H-step forecasts, intervals
        shaded."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        times, actual = self.series.times, self.series.values[:, self.target]
        start, end = self.part(split)
        first = max(0, start - 3 * self.config.horizon)
        figure, axes = plt.subplots(figsize=(9, 4), layout="constrained")
        axes.plot(times[first:end], actual[first:end], color="black", label="actual")
        for h, color in ((1, "tab:blue"), (self.config.horizon, "tab:orange")):
            steps = result.origins + h - 1
            valid = steps < end
            axes.plot(times[steps[valid]], result.mean[valid, h - 1], color=color,
                      label=f"{h}-step forecast")  # fmt: skip
            if result.lower is not None:
                axes.fill_between(times[steps[valid]], result.lower[valid, h - 1],
                                  result.upper[valid, h - 1], color=color, alpha=0.15)  # fmt: skip
        axes.axvline(times[start], color="grey", linestyle=":")
        axes.set_xlabel("time")
        axes.set_ylabel(self.series.columns[self.target])
        axes.set_title(f"{self.series.name}: forecasts from rolling origins ({split}), 90 %")
        axes.legend()
        path = directory / f"forecast_{split}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        return path

    def save(self, directory: Path) -> None:
        data = {
            "series": self.series.name,
            "columns": list(self.series.columns),
            "target": self.series.columns[self.target],
            "n": len(self.scaled),
            "val_start": self.val_start,
            "test_start": self.test_start,
            "scaler": self.scaler.to_dict(),
        }
        Path(directory, "series.json").write_text(json.dumps(data, indent=1), encoding="utf-8")


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
