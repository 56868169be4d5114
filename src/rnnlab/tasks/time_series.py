"""Time series to forecast: univariate or multivariate, from statsmodels' bundled data or a CSV.

A :class:`Series` holds N steps of F variables as a float64 array ``values`` (N, F), the names
of its ``columns``, the ``times`` of its steps (N,) as decimal years where the source has dates
(1700.0, 1958.25; a CSV's numeric time column as it is, otherwise 0 .. N-1), its seasonal
``period`` in steps where known, and how many missing values loading ``filled``.

Built-in series (:data:`STATSMODELS_SERIES`) ship inside the statsmodels wheel, so loading
them needs no download:

- ``sunspots``: yearly sunspot activity 1700-2008 (column ``SUNACTIVITY``), the ~11-year
  solar cycle.
- ``co2``: weekly atmospheric CO2 at Mauna Loa from March 1958 to December 2001; 59 weeks are
  missing and are filled by linear interpolation.
- ``elnino``: monthly sea surface temperature 1950-2010. statsmodels ships it as a wide table
  (one row per year, columns JAN .. DEC); it is read row-major into one monthly series.
- ``macrodata``: quarterly US macroeconomic variables 1959Q1-2009Q3, every column but
  ``year`` and ``quarter``.

Missing values (NaN in a built-in series, empty cells in a CSV) are filled per column by
linear interpolation between the nearest known values; a gap at the start or end takes the
nearest known value. The count is kept in ``Series.filled`` so that it can be reported.

A :class:`Scaler` maps values to what a network reads: an optional variance-stabilising
transform (``sqrt`` or ``log1p``, for counts such as sunspots) and then per-column
standardisation. It is fitted on the training part only, so that nothing from the validation
or test steps leaks into the inputs (no look-ahead); ``inverse`` maps forecasts back.
"""

import csv
import difflib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.tasks.files import read_text, require_file

STATSMODELS_SERIES: dict[str, tuple[str, int]] = {
    "sunspots": ("yearly sunspot activity 1700-2008 (SUNACTIVITY)", 11),
    "co2": ("weekly atmospheric CO2 at Mauna Loa 1958-2001, gaps interpolated", 52),
    "elnino": ("monthly sea surface temperature 1950-2010 (El Nino)", 12),
    "macrodata": ("quarterly US macroeconomic variables 1959-2009", 4),
}
MINIMUM_LENGTH = 3
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True)
class Series:
    """N steps of F variables, with their times; see the module docstring."""

    name: str
    values: np.ndarray  # (N, F) float64, no NaN
    columns: tuple[str, ...]  # (F,)
    times: np.ndarray  # (N,) float64: decimal years, a CSV's time column, or 0 .. N-1
    period: int | None  # seasonal period in steps, None where there is none or it is unknown
    filled: int  # missing values filled by interpolation, over all columns

    def column(self, name: str) -> np.ndarray:
        """The values (N,) of one column."""
        if name not in self.columns:
            raise ConfigError(f"series {self.name!r} has no column {name!r}: {self.columns}")
        return self.values[:, self.columns.index(name)]


def load_series(
    name: str | None = None,
    *,
    path: str | Path | None = None,
    columns: list[str] | None = None,
    time_column: str | None = None,
    period: int | None = None,
) -> Series:
    """A built-in series by ``name``, or the CSV file at ``path``; exactly one of the two.

    Args:
        name: a key of :data:`STATSMODELS_SERIES`.
        path: a CSV file whose first row names the columns. Every cell of a value column must
            be a number or empty (missing, filled by interpolation).
        columns: the value columns to keep, in this order; all by default (for a CSV, all but
            ``time_column``).
        time_column: CSV only: the column holding the time of each row. Its values become
            ``Series.times`` when every cell is a number, otherwise the rows are numbered
            0 .. N-1. Without it the rows are numbered.
        period: the seasonal period in steps; a built-in series has its own by default, a CSV
            none.

    Returns:
        The :class:`Series`, with missing values filled.
    """
    if (name is None) == (path is None):
        raise ConfigError(
            "load_series takes exactly one of name (a built-in series) and path (a CSV file), "
            f"got name={name!r} and path={path!r}"
        )
    if period is not None and (type(period) is not int or period < 1):
        raise ConfigError(f"period must be a positive integer or None, got {period!r}")
    if name is not None:
        if time_column is not None:
            raise ConfigError(
                f"time_column is for CSV files; the built-in series {name!r} has its own times"
            )
        values, names, times = _statsmodels_table(name)
        period = STATSMODELS_SERIES[name][1] if period is None else period
        label = name
    else:
        values, names, times = _read_csv(Path(path), time_column)
        label = Path(path).stem
    where = f"series {name!r}" if name is not None else str(path)  # for errors
    if columns is not None:
        unknown = [c for c in columns if c not in names]
        if unknown or not columns:
            raise ConfigError(
                f"columns must be a non-empty list of columns of {where}, which are "
                f"{list(names)}; got {columns!r}"
            )
        values = values[:, [names.index(c) for c in columns]]
        names = list(columns)
    if len(values) < MINIMUM_LENGTH:
        raise RnnlabError(f"{where} has {len(values)} steps; at least {MINIMUM_LENGTH} are needed")
    try:
        values, filled = fill_missing(values, names)
    except RnnlabError as error:
        raise RnnlabError(f"{where}: {error}") from None
    return Series(
        name=label, values=values, columns=tuple(names), times=times, period=period, filled=filled
    )


def fill_missing(values: np.ndarray, columns: list[str]) -> tuple[np.ndarray, int]:
    """``values`` (N, F) with each NaN linearly interpolated in its column, and how many."""
    values = np.array(values, dtype=np.float64)
    missing = np.isnan(values)
    steps = np.arange(len(values))
    for j, column in enumerate(columns):
        known = ~missing[:, j]
        if not known.any():
            raise RnnlabError(f"column {column!r} has no values, only missing cells")
        # np.interp holds the first and last known values beyond the ends: the nearest value
        values[~known, j] = np.interp(steps[~known], steps[known], values[known, j])
    return values, int(missing.sum())


def _statsmodels_table(name: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Values (N, F) with NaN where missing, column names, and decimal-year times (N,)."""
    if name not in STATSMODELS_SERIES:
        close = difflib.get_close_matches(name, STATSMODELS_SERIES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"unknown series {name!r}{hint}; the built-in series are {list(STATSMODELS_SERIES)}"
        )
    import statsmodels.api as sm

    frame = getattr(sm.datasets, name).load_pandas().data
    if name == "sunspots":
        times = frame["YEAR"].to_numpy(np.float64)
        return frame[["SUNACTIVITY"]].to_numpy(np.float64), ["SUNACTIVITY"], times
    if name == "co2":
        dates = frame.index
        days = np.where(dates.is_leap_year, 366.0, 365.0)
        times = dates.year.to_numpy(np.float64) + (dates.day_of_year.to_numpy() - 1) / days
        return frame[["co2"]].to_numpy(np.float64), ["co2"], times
    if name == "elnino":
        table = frame[list(MONTHS)].to_numpy(np.float64)  # (years, 12)
        years = frame["YEAR"].to_numpy(np.float64)
        times = (years[:, None] + np.arange(12) / 12).reshape(-1)
        return table.reshape(-1, 1), ["temperature"], times  # row-major: Jan .. Dec per year
    # macrodata
    names = [c for c in frame.columns if c not in ("year", "quarter")]
    times = frame["year"].to_numpy(np.float64) + (frame["quarter"].to_numpy(np.float64) - 1) / 4
    return frame[names].to_numpy(np.float64), names, times


def _number(cell: str) -> float | None:
    """The float in ``cell``, NaN for an empty or NaN cell, None for anything else."""
    cell = cell.strip()
    if not cell:
        return math.nan
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if not math.isinf(value) else None


def _read_csv(path: Path, time_column: str | None) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Values (N, F) with NaN where missing, value column names, and times (N,) of a CSV."""
    text = read_text(require_file(path, "CSV file"), encoding="utf-8-sig")
    try:
        rows = [
            (number, row)
            for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
            if row
        ]
    except csv.Error as error:  # a field over the csv module's limit of 131072 characters
        raise RnnlabError(f"{path} cannot be read as CSV: {error}") from None
    if not rows:
        raise RnnlabError(f"{path} is empty; expected a header row of column names, then data")
    header = [cell.strip() for cell in rows[0][1]]
    if all(_number(cell) is not None for cell in header):
        raise RnnlabError(
            f"{path}: the first row must name the columns, got only numbers {rows[0][1]}"
        )
    if len(set(header)) != len(header) or "" in header:
        raise RnnlabError(f"{path}: column names must be distinct and non-empty, got {header}")
    if time_column is not None and time_column not in header:
        raise ConfigError(
            f"time_column {time_column!r} is not a column of {path}, whose columns are {header}"
        )
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise RnnlabError(
                f"{path} line {line}: expected {len(header)} cells as in the header, got {len(row)}"
            )
    data = [row for _, row in rows[1:]]
    names = [c for c in header if c != time_column]
    values = np.empty((len(data), len(names)))
    for j, column in enumerate(names):
        k = header.index(column)
        for i, (line, row) in enumerate(rows[1:]):
            value = _number(row[k])
            if value is None:
                raise RnnlabError(
                    f"{path} line {line} (data row {i + 1}), column {column!r}: expected a "
                    f"number or an empty cell, got {row[k]!r}"
                    + ("" if time_column else "; is it a time column (time_column=...)?")
                )
            values[i, j] = value
    times = np.arange(len(data), dtype=np.float64)
    if time_column is not None:
        k = header.index(time_column)
        parsed = [_number(row[k]) for row in data]
        if all(v is not None and not math.isnan(v) for v in parsed):
            times = np.array(parsed, dtype=np.float64)
    return values, names, times


@dataclass(frozen=True)
class Scaler:
    """A transform, then standardisation per column, with the statistics of the training part.

    ``fit`` takes the training values (n, F) only. ``transform`` maps values (..., F) to
    ``(g(x) - mean) / std`` with ``g`` the identity, ``sqrt`` or ``log1p`` (both for values
    >= 0) and ``std`` the population standard deviation (1 where a column is constant).
    ``inverse`` maps back: ``g⁻¹(z * std + mean)``, where the inverse of ``sqrt`` clips at 0
    before squaring (a forecast below 0 would otherwise square to a positive value);
    ``expm1`` is monotone and needs no clip.
    """

    transformation: Literal["none", "sqrt", "log1p"]
    mean: np.ndarray  # (F,) of the transformed training values
    std: np.ndarray  # (F,)

    @classmethod
    def fit(cls, values: np.ndarray, transform: str = "none") -> "Scaler":
        """The scaler of the training values (n, F)."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or len(values) < 1:
            raise ValueError(f"Scaler.fit expects values (n, F) with n >= 1, got {values.shape}")
        if transform not in ("none", "sqrt", "log1p"):
            raise ConfigError(f"transform must be 'none', 'sqrt' or 'log1p', got {transform!r}")
        transformed = _forward(values, transform)
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, by column
            mean, std = transformed.mean(axis=0), transformed.std(axis=0)
        overflow = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
        if overflow.size:
            raise RnnlabError(
                f"column {int(overflow[0])} holds values too large to standardise (up to "
                f"{np.abs(transformed[:, overflow[0]]).max():.3g}; its mean or standard "
                f"deviation overflows float64): rescale it, or use transform = 'log1p'"
            )
        return cls(transform, mean, np.where(std > 0, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scaled values, of the same shape (..., F) as ``values``."""
        values = self._check(values, "transform")
        return (_forward(values, self.transformation) - self.mean) / self.std

    def inverse(self, values: np.ndarray, column: int | None = None) -> np.ndarray:
        """Values on the original scale: of all columns (..., F), or with ``column`` of that one
        column, for an array of any shape (a forecast of the target column, (H,) or (K, H))."""
        if column is None:
            values = self._check(values, "inverse")
            mean, std = self.mean, self.std
        else:
            if not 0 <= column < len(self.mean):
                raise ValueError(f"column must be in 0 .. {len(self.mean) - 1}, got {column}")
            values = np.asarray(values, dtype=np.float64)
            mean, std = self.mean[column], self.std[column]
        raw = values * std + mean
        if self.transformation == "sqrt":
            return np.clip(raw, 0.0, None) ** 2
        if self.transformation == "log1p":
            return np.expm1(raw)
        return raw

    def to_dict(self) -> dict:
        """The scaler as JSON-ready lists and strings."""
        return {
            "transform": self.transformation,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Scaler":
        """The scaler saved by :meth:`to_dict`."""
        if set(data) != {"transform", "mean", "std"}:
            raise ConfigError(
                f"a saved Scaler has the keys ['mean', 'std', 'transform'], got {sorted(data)}"
            )
        mean = np.array(data["mean"], dtype=np.float64)
        std = np.array(data["std"], dtype=np.float64)
        if mean.ndim != 1 or mean.shape != std.shape or not (std > 0).all():
            raise ConfigError(
                f"a saved Scaler needs mean and std lists of one length with std > 0, got "
                f"{json.dumps(data)[:200]}"
            )
        if data["transform"] not in ("none", "sqrt", "log1p"):
            raise ConfigError(
                f"transform must be 'none', 'sqrt' or 'log1p', got {data['transform']!r}"
            )
        return cls(data["transform"], mean, std)

    def _check(self, values: np.ndarray, method: str) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 0 or values.shape[-1] != len(self.mean):
            raise ValueError(
                f"Scaler.{method} expects values (..., {len(self.mean)}), got {values.shape}"
            )
        return values


def _forward(values: np.ndarray, transform: str) -> np.ndarray:
    """``sqrt`` or ``log1p`` of values (..., F) >= 0, or the values themselves."""
    if transform == "none":
        return values
    negative = values < 0
    if negative.any():
        index = np.argwhere(negative)[0]
        raise RnnlabError(
            f"the {transform} transform needs values >= 0, but column {index[-1]} holds "
            f"{values[tuple(index)]} (at index {tuple(int(i) for i in index)})"
        )
    return np.sqrt(values) if transform == "sqrt" else np.log1p(values)
