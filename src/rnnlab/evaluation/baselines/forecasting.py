"""Forecasting baselines, rolling-origin backtests and metrics: what an RNN forecaster must beat.

**Protocol.** A series of n values is split at ``train_end``: models are fitted on
``values[:train_end]`` only. The test part is the last ``test_length`` values. From every
origin o in n - test_length .. n - 1 (:func:`rolling_origins`) a forecaster sees the real
history ``values[:o]`` and predicts the H values ``values[o : o + H]``; it is not refitted per
origin. Targets past the end of the series (o + h > n) are NaN in ``Backtest.actual`` and are
left out of every metric, so every test value is a one-step target exactly once and the h-step
metrics use the origins whose target exists (Tashman 2000, "Out-of-sample tests of
forecasting accuracy").

**Forecasters** are functions ``(history, horizon) -> Forecast`` with ``history`` (o,) the
values before the origin. A :class:`Forecast` holds the mean (H,) and, where the method gives
one, a central interval (by default 90 %): the Gaussian interval ``mean ± z σ_h`` with
``z = Φ⁻¹(0.5 + level / 2)`` (1.645 at 90 %).

- :func:`naive`: the last value, repeated. σ_h = σ √h, σ the root mean square of the history's
  lag-1 differences (a random walk's h-step error is the sum of h steps).
- :func:`seasonal_naive`: the value one period m back, repeated every period. σ_h = σ √⌈h/m⌉,
  σ from the lag-m differences.
- :class:`AutoRegressive`: a linear AR(p) with intercept, least squares, recursive multi-step
  forecasts; its order is chosen on a validation tail of the training part by
  :func:`select_ar_order`.

**Metrics** (:func:`forecast_metrics`) over all valid (origin, horizon) cells: ``mae``,
``rmse``, ``mase`` (the MAE divided by :func:`mase_scale`, the in-sample MAE of the one-step
naive forecast on the training part; Hyndman & Koehler 2006, "Another look at measures of
forecast accuracy"), the interval's empirical ``coverage_90``, and ``per_horizon`` MAE and MASE.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np


@dataclass(frozen=True)
class Forecast:
    """The point forecast (H,) and, where the method gives one, its central interval (H,)."""

    mean: np.ndarray  # (H,)
    lower: np.ndarray | None = None  # (H,)
    upper: np.ndarray | None = None  # (H,)

    def __post_init__(self) -> None:
        if self.mean.ndim != 1:
            raise ValueError(f"Forecast.mean must be (H,), got {self.mean.shape}")
        if (self.lower is None) != (self.upper is None):
            raise ValueError("Forecast needs both lower and upper, or neither")
        for bound in (self.lower, self.upper):
            if bound is not None and bound.shape != self.mean.shape:
                raise ValueError(
                    f"Forecast bounds must match mean {self.mean.shape}, got {bound.shape}"
                )


Forecaster = Callable[[np.ndarray, int], Forecast]


def rolling_origins(n: int, test_length: int, horizon: int) -> list[int]:
    """The origins n - test_length .. n - 1 of a backtest on the last ``test_length`` values.

    From origin o the forecaster sees ``values[:o]`` and predicts ``values[o : o + horizon]``;
    the targets past ``n`` are missing. ``horizon`` may not exceed ``test_length``, so that
    every horizon step has at least one target.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    if not 1 <= test_length < n:
        raise ValueError(
            f"test_length must be in 1 .. n - 1 = {n - 1} (the first origin needs a history), "
            f"got {test_length}"
        )
    if horizon > test_length:
        raise ValueError(
            f"horizon must be <= test_length, else no origin has an h-step target; got "
            f"horizon={horizon}, test_length={test_length}"
        )
    return list(range(n - test_length, n))


@dataclass(frozen=True)
class Backtest:
    """The forecasts from K origins of H steps each, and the values they forecast."""

    origins: np.ndarray  # (K,)
    mean: np.ndarray  # (K, H)
    lower: np.ndarray | None  # (K, H), None when the forecaster gives no interval
    upper: np.ndarray | None  # (K, H)
    actual: np.ndarray  # (K, H), NaN where o + h is past the end of the series


def backtest(
    forecaster: Forecaster,
    series: np.ndarray,
    origins: list[int] | np.ndarray,
    horizon: int,
    history: np.ndarray | None = None,
) -> Backtest:
    """Forecast ``horizon`` steps from every origin and collect the forecasts and targets.

    Args:
        forecaster: called as ``forecaster(past, horizon)`` at each origin o; returns a
            :class:`Forecast` of ``horizon`` steps.
        series: the target values (n,); ``actual[k, h] = series[origins[k] + h]``.
        origins: in 1 .. n - 1, e.g. from :func:`rolling_origins`.
        horizon: H, the number of steps forecast from each origin.
        history: what the forecaster sees, when not the target alone: an array (n, ...)
            aligned with ``series`` (all F variables of a multivariate series, say), of which
            the forecaster receives ``history[:o]``. By default it receives ``series[:o]``.
    """
    series = np.asarray(series, dtype=np.float64)
    if series.ndim != 1:
        raise ValueError(f"series must be the target values (n,), got {series.shape}")
    n = len(series)
    seen = series if history is None else np.asarray(history)
    if len(seen) != n:
        raise ValueError(f"history must have the n = {n} steps of series, got {seen.shape}")
    origins = np.asarray(origins, dtype=np.int64)
    if origins.ndim != 1 or len(origins) == 0 or origins.min() < 1 or origins.max() > n - 1:
        raise ValueError(f"origins must be a non-empty list in 1 .. {n - 1}, got {origins}")
    K = len(origins)
    mean = np.empty((K, horizon))
    lower = np.empty((K, horizon))
    upper = np.empty((K, horizon))
    actual = np.full((K, horizon), np.nan)
    intervals = []
    for k, o in enumerate(origins):
        forecast = forecaster(seen[:o], horizon)
        if forecast.mean.shape != (horizon,):
            raise ValueError(
                f"the forecaster must return a mean ({horizon},), got {forecast.mean.shape} "
                f"at origin {o}"
            )
        if not np.isfinite(forecast.mean).all():
            raise ValueError(f"the forecaster returned a non-finite mean at origin {o}")
        mean[k] = forecast.mean
        intervals.append(forecast.lower is not None)
        if forecast.lower is not None:
            lower[k], upper[k] = forecast.lower, forecast.upper
        targets = series[o : o + horizon]
        actual[k, : len(targets)] = targets
    if any(intervals) and not all(intervals):
        raise ValueError("the forecaster gave an interval at some origins but not at others")
    if not all(intervals):
        lower = upper = None
    return Backtest(origins=origins, mean=mean, lower=lower, upper=upper, actual=actual)


def mase_scale(train: np.ndarray, m: int = 1) -> float:
    """The in-sample MAE of the lag-m naive forecast on the training values (n,): the MASE
    denominator, ``mean |y_t - y_{t-m}|`` over t = m .. n - 1 (Hyndman & Koehler 2006)."""
    train = np.asarray(train, dtype=np.float64)
    if train.ndim != 1 or len(train) < m + 1:
        raise ValueError(
            f"mase_scale needs training values (n,) with n >= m + 1 = {m + 1}, got {train.shape}"
        )
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    scale = float(np.abs(train[m:] - train[:-m]).mean())
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"the lag-{m} naive MAE of the training values must be > 0, got {scale}")
    return scale


def forecast_metrics(bt: Backtest, scale: float, level: float = 0.9) -> dict:
    """``mae``, ``rmse``, ``mase`` over all (origin, horizon) cells with a target;
    ``coverage_{100 level}`` (the share of targets inside [lower, upper]) when the backtest
    has intervals, ``level`` being their nominal level; ``per_horizon`` ``mae`` and ``mase``,
    lists of H (NaN for a step without targets)."""
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    valid = ~np.isnan(bt.actual)  # (K, H)
    if not valid.any():
        raise ValueError("the backtest has no target inside the series")
    error = np.where(valid, bt.mean - np.nan_to_num(bt.actual), 0.0)  # (K, H)
    count = valid.sum()
    mae = float(np.abs(error).sum() / count)
    per_count = valid.sum(axis=0)  # (H,)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_mae = np.abs(error).sum(axis=0) / per_count  # (H,), NaN where no target
    result = {
        "mae": mae,
        "rmse": float(np.sqrt((error**2).sum() / count)),
        "mase": mae / scale,
    }
    if bt.lower is not None:
        actual = np.nan_to_num(bt.actual)
        inside = valid & (bt.lower <= actual) & (actual <= bt.upper)
        result[f"coverage_{round(100 * level)}"] = float(inside.sum() / count)
    result["per_horizon"] = {"mae": per_mae.tolist(), "mase": (per_mae / scale).tolist()}
    return result


def _gaussian(mean: np.ndarray, sigma: np.ndarray, level: float) -> Forecast:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    from scipy.stats import norm  # here: scipy.stats takes seconds to import, training needs none

    z = norm.ppf(0.5 + level / 2)
    return Forecast(mean=mean, lower=mean - z * sigma, upper=mean + z * sigma)


def _history(history: np.ndarray, minimum: int, method: str) -> np.ndarray:
    history = np.asarray(history, dtype=np.float64)
    if history.ndim != 1 or len(history) < minimum:
        raise ValueError(
            f"{method} needs a history (o,) of at least {minimum} values, got {history.shape}"
        )
    return history


def naive(history: np.ndarray, horizon: int, level: float = 0.9) -> Forecast:
    """The last value for every step; σ_h = σ √h with σ² the mean squared lag-1 difference."""
    history = _history(history, 2, "naive")
    sigma = np.sqrt(np.mean(np.diff(history) ** 2))
    steps = np.arange(1, horizon + 1)
    return _gaussian(np.full(horizon, history[-1]), sigma * np.sqrt(steps), level)


def seasonal_naive(history: np.ndarray, horizon: int, period: int, level: float = 0.9) -> Forecast:
    """``ŷ_{o+h} = y_{o+h-m⌈h/m⌉}``, the last observed value of the same season; σ_h =
    σ √⌈h/m⌉ with σ² the mean squared lag-m difference."""
    if period < 1:
        raise ValueError(f"period must be >= 1, got {period}")
    history = _history(history, period + 1, "seasonal_naive")
    last_season = history[-period:]  # (m,)
    steps = np.arange(horizon)
    sigma = np.sqrt(np.mean((history[period:] - history[:-period]) ** 2))
    cycles = steps // period + 1  # ⌈h/m⌉ for h = steps + 1
    return _gaussian(last_season[steps % period], sigma * np.sqrt(cycles), level)


@dataclass(frozen=True)
class AutoRegressive:
    """A linear AR(p) with intercept: ``y_t = c + Σ_{i=1..p} φ_i y_{t-i} + ε_t``, ε ~ N(0, σ²).

    **Fit** (:meth:`fit`): least squares of ``y_t`` on ``(1, y_{t-1}, .., y_{t-p})`` for
    t = p .. n - 1 (conditional on the first p values, as statsmodels' ``AutoReg``); σ² is the
    residual sum of squares over (n - p) - (p + 1), equations minus parameters.

    **Forecast** (:meth:`forecast`) from a history ending at T, recursively:
    ``ŷ_{T+h} = c + Σ_i φ_i ŷ_{T+h-i}`` with ``ŷ_{T+j} = y_{T+j}`` for j <= 0.

    **Interval.** Subtracting the recursion from the model, the error
    ``e_h = y_{T+h} - ŷ_{T+h}`` obeys ``e_h = ε_{T+h} + Σ_i φ_i e_{h-i}`` with ``e_j = 0`` for
    j <= 0 (the past is known). Unrolled, ``e_h = Σ_{j=0..h-1} ψ_j ε_{T+h-j}`` where ψ are the
    weights of the MA(∞) form ``y = ψ(B) ε``, ``ψ(B) = 1 / φ(B)``: ``ψ_0 = 1``,
    ``ψ_j = Σ_{i=1..min(j,p)} φ_i ψ_{j-i}``. The ε are independent, so
    ``Var e_h = σ² Σ_{j<h} ψ_j²``, and the interval is ``ŷ ± z σ_h``. The sum is finite, so
    this holds for a non-stationary fit too. The estimated c, φ, σ are taken as the true ones
    (no parameter uncertainty), which makes the interval slightly narrow on short series.
    """

    intercept: float  # c
    coefficients: np.ndarray  # (p,) φ_1 .. φ_p
    sigma: float  # residual standard deviation

    @property
    def order(self) -> int:
        return len(self.coefficients)

    @classmethod
    def fit(cls, train: np.ndarray, order: int) -> "AutoRegressive":
        """Least squares on the training values (n,); n >= 2 p + 2."""
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        train = _history(train, 2 * order + 2, f"AutoRegressive.fit of order {order}")
        n = len(train)
        lags = np.column_stack([train[order - i : n - i] for i in range(1, order + 1)])
        design = np.column_stack([np.ones(n - order), lags])  # (n - p, p + 1)
        target = train[order:]  # (n - p,)
        weights = np.linalg.lstsq(design, target, rcond=None)[0]
        residuals = target - design @ weights
        sigma = math.sqrt(float(residuals @ residuals) / (n - order - (order + 1)))
        return cls(intercept=float(weights[0]), coefficients=weights[1:], sigma=sigma)

    def psi_weights(self, horizon: int) -> np.ndarray:
        """ψ_0 .. ψ_{H-1} of the MA(∞) form (H,); see the class docstring."""
        psi = np.zeros(horizon)
        psi[0] = 1.0
        for j in range(1, horizon):
            i = np.arange(1, min(j, self.order) + 1)
            psi[j] = self.coefficients[i - 1] @ psi[j - i]
        return psi

    def forecast(self, history: np.ndarray, horizon: int, level: float = 0.9) -> Forecast:
        """The recursive forecast of ``horizon`` steps after ``history`` (o,), o >= p."""
        history = _history(history, self.order, f"AR({self.order}).forecast")
        buffer = list(history[-self.order :][::-1])  # y_T, y_{T-1}, .., y_{T-p+1}
        mean = np.empty(horizon)
        for h in range(horizon):
            mean[h] = self.intercept + self.coefficients @ np.array(buffer[: self.order])
            buffer.insert(0, mean[h])
        sigma = self.sigma * np.sqrt(np.cumsum(self.psi_weights(horizon) ** 2))
        return _gaussian(mean, sigma, level)


def select_ar_order(train: np.ndarray, val_length: int, max_order: int, horizon: int) -> int:
    """The AR order in 1 .. ``max_order`` of least validation MAE (the smallest on a tie).

    Each order is fitted on ``train[:-val_length]`` and backtested, without refitting, from
    the origins of :func:`rolling_origins` over the last ``val_length`` values of ``train``.
    """
    train = np.asarray(train, dtype=np.float64)
    origins = rolling_origins(len(train), val_length, horizon)
    fit_part = train[:-val_length]
    if max_order < 1 or len(fit_part) < 2 * max_order + 2:
        raise ValueError(
            f"max_order must be in 1 .. {(len(fit_part) - 2) // 2}, as the fit part "
            f"(train[:-val_length], {len(fit_part)} values) must hold 2 max_order + 2; "
            f"got {max_order}"
        )
    best, best_mae = 0, math.inf
    for order in range(1, max_order + 1):
        model = AutoRegressive.fit(fit_part, order)
        bt = backtest(model.forecast, train, origins, horizon)
        mae = float(np.nanmean(np.abs(bt.mean - bt.actual)))
        if mae < best_mae:
            best, best_mae = order, mae
    return best


def evaluate_baselines(
    values: np.ndarray,
    train_end: int,
    test_length: int,
    horizon: int,
    period: int | None,
    max_order: int = 20,
) -> dict[str, dict]:
    """Every baseline's :func:`forecast_metrics` on the last ``test_length`` values.

    The AR order is chosen by :func:`select_ar_order` with the last
    ``min(test_length, train_end // 4)`` training values as validation, then the AR is
    refitted on all of ``values[:train_end]``. MASE
    uses the lag-1 :func:`mase_scale` of ``values[:train_end]`` for every baseline (pass the
    same scale for the network). ``seasonal_naive`` is included only with a ``period``.

    Returns:
        ``{"naive": metrics, "seasonal_naive": metrics, "autoregressive": metrics + "order"}``.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"values must be one series (n,), got {values.shape}")
    n = len(values)
    origins = rolling_origins(n, test_length, horizon)
    if not 1 <= train_end <= n - test_length:
        raise ValueError(
            f"train_end must be in 1 .. n - test_length = {n - test_length}, so that no test "
            f"value is trained on; got {train_end}"
        )
    train = values[:train_end]
    scale = mase_scale(train)
    forecasters: dict[str, Forecaster] = {"naive": naive}
    if period is not None:
        forecasters["seasonal_naive"] = partial(seasonal_naive, period=period)
    order = select_ar_order(train, min(test_length, train_end // 4), max_order, horizon)
    forecasters["autoregressive"] = AutoRegressive.fit(train, order).forecast
    results = {
        name: forecast_metrics(backtest(forecaster, values, origins, horizon), scale)
        for name, forecaster in forecasters.items()
    }
    results["autoregressive"]["order"] = order
    return results
