"""A sweep file: a base config, the overrides to sweep, and the seeds to run each with.

::

    base = "lstm_adding.toml"      # relative to this file, or absolute
    seeds = [0, 1, 2]              # training.seed of each run (default [0])

    [set]                          # overrides of every run (not part of the run names)
    "training.max_steps" = 400

    [grid]                         # every combination of these values is a point
    "model.hidden_size" = [8, 32]
    "training.lr" = [0.003, 0.01]

    [[points]]                     # and/or a list of points, each a table of overrides
    "model.kind" = "gru"
    [[points]]
    "model.kind" = "lstm"

The points of the sweep: each ``[[points]]`` table crossed with every combination of the
``[grid]`` (the last key varying fastest); with only a grid, its combinations; with only
points, the points; with neither, the base alone. Every point runs once per seed. A key may
appear in one of ``[set]``, ``[grid]`` and a point, not in two (which would win is not obvious),
and never ``training.seed`` (that is what ``seeds`` sets).

Every run is an ordinary run directory named after the point's overrides and its seed, e.g.
``model.hidden_size=8,training.lr=0.01,seed=0``; characters other than letters, digits and
``._,=+-`` become ``_``, and a name that had to change, or that is longer than
:data:`MAX_NAME` characters, is cut and ends with a hash of the full name, so that two points
never share a directory.

:func:`load_sweep` validates everything before anything runs: the sweep file (an unknown key is
an error that names it), the base config, and every run's resolved config, each a
:class:`~rnnlab.errors.ConfigError` naming the sweep file and the point.
"""

import copy
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rnnlab.errors import ConfigError
from rnnlab.train.config import (
    RunConfig,
    parse_config,
    read_config_file,
    set_key,
    unknown_message,
)

MAX_NAME = 120  # characters of a point's part of a run name, before it is cut and hashed
_UNSAFE = re.compile(r"[^A-Za-z0-9._,=+-]")


class SweepConfig(BaseModel):
    """The sweep file's table; see the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    base: str = Field(description="the run config every point overrides")
    seeds: list[int] = Field([0], min_length=1, description="training.seed of each run")
    set: dict[str, Any] = Field({}, description="overrides of every run")
    grid: dict[str, list[Any]] = Field(
        {}, description="section.key -> values; every combination is a point"
    )
    points: list[dict[str, Any]] = Field(
        [], description="tables of overrides, each crossed with every combination of the grid"
    )

    @model_validator(mode="after")
    def _check(self) -> "SweepConfig":
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must differ from each other; got {self.seeds}")
        for key, values in self.grid.items():
            if not values:
                raise ValueError(f"[grid] {key!r} lists no values")
            if len({_canonical(v) for v in values}) != len(values):
                raise ValueError(f"[grid] {key!r} lists a value twice: {values}")
        tables = [("[set]", self.set), ("[grid]", self.grid)]
        tables += [(f"[[points]] #{k + 1}", point) for k, point in enumerate(self.points)]
        for where, table in tables:
            if "training.seed" in table:
                raise ValueError(f"{where} sets training.seed; the seeds are set by seeds = [...]")
        for k, (where, table) in enumerate(tables):
            for other, other_table in tables[: min(k, 2)]:  # points may share keys
                for key in table:
                    if key in other_table:
                        raise ValueError(f"{key!r} is in both {other} and {where}; keep one")
        return self


@dataclass(frozen=True)
class PlannedRun:
    """One run of a sweep: a point's config with one seed, and its directory's name."""

    name: str  # the run directory's name under the sweep's directory
    seed: int
    config: RunConfig


@dataclass(frozen=True)
class Point:
    """One point of a sweep: its overrides (``section.key -> value``) and its runs, one per
    seed."""

    name: str  # the overrides as text, e.g. "model.hidden_size=8,training.lr=0.01"
    overrides: dict[str, Any]
    runs: tuple[PlannedRun, ...]


@dataclass(frozen=True)
class Sweep:
    """A sweep file, read and validated: its points, and the keys they vary."""

    path: Path
    base: Path
    seeds: tuple[int, ...]
    points: tuple[Point, ...]

    @property
    def runs(self) -> list[PlannedRun]:
        """Every run, point by point and within a point seed by seed."""
        return [run for point in self.points for run in point.runs]

    @property
    def swept(self) -> list[str]:
        """The keys whose value differs between points, in the order they first appear."""
        keys = dict.fromkeys(key for point in self.points for key in point.overrides)
        return [
            key
            for key in keys
            if len({_canonical(point.overrides.get(key)) for point in self.points}) > 1
        ]


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate the sweep file at ``path`` and every run config it describes."""
    path = Path(path)
    data = read_config_file(path, "sweep file")
    try:
        sweep = SweepConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{path}: {_describe(error.errors()[0])}") from None
    base = Path(sweep.base)
    if not base.is_absolute():
        base = path.parent / base
    base_data = read_config_file(base, f"{path}: base config")
    for key, value in sweep.set.items():
        set_key(base_data, key, value, f"{path} [set]")
    parse_config(base_data, f"{base} (with {path} [set])" if sweep.set else str(base))
    points = []
    seen: dict[str, dict] = {}
    for overrides in _combinations(sweep):
        label = _label(overrides)
        if _canonical(overrides) in seen:
            raise ConfigError(f"{path}: the point {label or '(the base)'} is listed twice")
        seen[_canonical(overrides)] = overrides
        name = safe_name(label)
        runs = []
        for seed in sweep.seeds:
            data = copy.deepcopy(base_data)
            for key, value in overrides.items():
                set_key(data, key, value, f"{path} point {label}")
            set_key(data, "training.seed", seed, str(path))
            where = f"{path} point {label}" if label else str(path)
            config = parse_config(data, f"{where}, seed {seed}")
            runs.append(
                PlannedRun(",".join([*([name] if name else []), f"seed={seed}"]), seed, config)
            )
        points.append(Point(label, overrides, tuple(runs)))
    return Sweep(path, base, tuple(sweep.seeds), tuple(points))


def _combinations(sweep: SweepConfig) -> list[dict[str, Any]]:
    """The overrides of every point: each listed point crossed with each grid combination."""
    keys = list(sweep.grid)
    grid = [dict(zip(keys, values)) for values in itertools.product(*sweep.grid.values())]
    return [{**point, **combination} for point in sweep.points or [{}] for combination in grid]


def _label(overrides: dict[str, Any]) -> str:
    return ",".join(f"{key}={_text(value)}" for key, value in overrides.items())


def _text(value: Any) -> str:
    """A value as a run name shows it: TOML's spelling of booleans, strings bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def _canonical(value: Any) -> str:
    """A text that two values share exactly when they are the same TOML value (1 and 1.0 and
    true differ)."""
    return json.dumps([type(value).__name__, value], sort_keys=True, default=repr)


def safe_name(label: str) -> str:
    """``label`` as a file name: unsafe characters become ``_``; a name that had to change, or
    is longer than :data:`MAX_NAME`, is cut and ends with ``-`` and a hash of ``label``."""
    name = _UNSAFE.sub("_", label)
    if name == label and len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(label.encode("utf-8")).hexdigest()[:10]
    return f"{name[: MAX_NAME - 11]}-{digest}"


def _describe(error: dict) -> str:
    """One line for the first problem pydantic found in a sweep file."""
    location = [str(part) for part in error["loc"]]
    if error["type"] == "extra_forbidden":
        return unknown_message(location[0], list(SweepConfig.model_fields), "key", "the sweep file")
    if error["type"] == "missing":
        return f"{'.'.join(location)} is required but missing"
    if error["type"] == "value_error":
        return error["msg"].removeprefix("Value error, ")
    got = error.get("input")
    where = location[0] + "".join(
        f"[{part!r}]" if not part.isdigit() else f"[{part}]" for part in location[1:]
    )
    return f"{where}: {error['msg']}; got {got!r} ({type(got).__name__})"
