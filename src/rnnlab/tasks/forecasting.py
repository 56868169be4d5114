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

**Evaluation** (:mod:`rnnlab.evaluation.forecasting`): backtests from rolling origins of
the validation or test part, ``mae``, ``rmse``, ``mase`` and ``coverage_90`` on the original
scale, the naive, seasonal-naive and autoregressive baselines, and a PNG of the forecasts.
"""

import json
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.errors import ConfigError
from rnnlab.tasks.base import Split, Task, seed_field
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

    # -- forecasts: rnnlab.evaluation.forecasting ------------------------------------------

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        return self.scaler.inverse(scaled, self.target)

    def part(self, split: str) -> tuple[int, int]:
        """The first step of ``split``'s part and the end of the data it may see."""
        if split == "val":
            return self.val_start, self.test_start
        if split == "test":
            return self.test_start, len(self.scaled)
        raise ValueError(f"forecasts are evaluated on 'val' or 'test'; got {split!r}")

    # -- figures and files ----------------------------------------------------------------

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
