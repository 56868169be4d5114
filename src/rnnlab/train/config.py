"""A run's configuration: one TOML file with ``[model]``, ``[task]`` and ``[training]``.

Each section is a typed, frozen pydantic model; an unknown key or a value of the wrong type is
a :class:`~rnnlab.errors.ConfigError` that names the key, lists the valid ones and suggests the
closest. Defaults live only in the models below. ``--set section.key=value`` overrides a key
(the value is read as TOML, or as a plain string when it is not TOML, so ``--set
model.kind=gru`` works without quotes). The resolved config is saved in every run directory.

Example::

    [model]
    kind = "elman"
    hidden_size = 20
    nonlinearity = "sigmoid"

    [task]
    name = "letters"

    [training]
    optimizer = "adam"
    lr = 0.01
    bptt = "truncated"
    chunk_length = 20
    max_steps = 2000
"""

import difflib
import math
import tomllib
import typing
from pathlib import Path
from typing import Annotated, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rnnlab.errors import ConfigError
from rnnlab.models.config import MODELS, ModelConfig
from rnnlab.rl.config import PolicyRunConfig, is_policy_config, parse_policy_config
from rnnlab.tasks.base import seed_field
from rnnlab.tasks.registry import TASKS, TaskConfig


class TrainingConfig(BaseModel):
    """``[training]``: how the network learns, when to evaluate, log and checkpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    seed: int = seed_field("seeds initialisation, batch order and dropout")
    optimizer: Literal["sgd", "adam", "adamw", "rmsprop"] = "adam"
    lr: float = Field(1e-3, gt=0, description="learning rate")
    momentum: float = Field(0.0, ge=0, lt=1, description="sgd and rmsprop only")
    weight_decay: float = Field(0.0, ge=0)
    schedule: Literal["constant", "cosine", "step"] = "constant"
    warmup_steps: int = Field(0, ge=0, description="linear warm-up before the schedule")
    step_size: int = Field(1000, ge=1, description="schedule 'step': steps between decays")
    gamma: float = Field(0.1, gt=0, le=1, description="schedule 'step': decay factor")
    batch_size: int = Field(32, ge=1, description="sequences, or parallel streams, per update")
    bptt: Literal["full", "truncated", "online"] = Field(
        "full", description="full BPTT, truncated over chunks, or an update after every step"
    )
    chunk_length: int | None = Field(None, ge=1, description="steps per chunk, for 'truncated'")
    teacher_forcing: float = Field(
        1.0, ge=0, le=1, description="chance of feeding the true input, not the prediction"
    )
    clip_grad_norm: float | None = Field(None, gt=0, description="clip the gradient norm")
    label_smoothing: float = Field(
        0.0, ge=0, lt=1, description="cross-entropy tasks: training targets smoothed by this"
    )
    max_steps: int = Field(1000, ge=1, description="hard limit on optimiser updates")
    max_epochs: int | None = Field(None, ge=1, description="limit on passes through the data")
    max_minutes: float | None = Field(
        None, gt=0, description="limit on training time (wall clock, validations included)"
    )
    eval_every: int = Field(100, ge=1, description="steps between validations")
    log_every: int = Field(10, ge=1, description="steps between metrics records")
    checkpoint_every: int = Field(100, ge=1, description="steps between checkpoints")
    keep_checkpoints: int = Field(3, ge=1, description="checkpoints kept on disk")
    early_stopping_patience: int | None = Field(
        None, ge=1, description="validations without improvement before stopping"
    )
    early_stopping_metric: str = Field("val_loss", description="a val_* metric, lower is better")
    stop_below: float | None = Field(
        None, description="stop once early_stopping_metric falls below this value (solved)"
    )
    on_nonfinite: Literal["stop", "skip"] = Field(
        "stop", description="on a NaN/inf loss or gradient: stop, or skip the batch and count it"
    )
    tensorboard: bool = Field(False, description="also log to TensorBoard (needs tensorboard)")

    @model_validator(mode="after")
    def _check_combinations(self) -> "TrainingConfig":
        if self.bptt == "truncated" and self.chunk_length is None:
            raise ValueError("bptt = 'truncated' needs chunk_length (steps per chunk)")
        if self.bptt != "truncated" and self.chunk_length is not None:
            raise ValueError(
                f"chunk_length is used only with bptt = 'truncated'; got bptt = {self.bptt!r}"
            )
        if self.momentum and self.optimizer not in ("sgd", "rmsprop"):
            raise ValueError(
                f"momentum applies to sgd and rmsprop; got optimizer = {self.optimizer!r}"
            )
        if not self.early_stopping_metric.startswith("val_"):
            raise ValueError(
                f"early_stopping_metric must name a validation metric (val_...); "
                f"got {self.early_stopping_metric!r}"
            )
        return self


class RunConfig(BaseModel):
    """A whole run: the three sections."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    model: ModelConfig
    task: Annotated[TaskConfig, Field(discriminator="name")]
    training: TrainingConfig = TrainingConfig()


def parse_config(data: dict, source: str = "config") -> RunConfig:
    """Validate a config dict, turning pydantic's errors into one clear ConfigError."""
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as error:
        # An unknown key explains a missing one ("hiden_size"), so it is reported first.
        errors = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
        raise ConfigError(f"{source}: {_describe(errors[0], data)}") from None
    found = _first_nonfinite(data)
    if found is not None:  # pydantic takes nan for an unbounded float, inf for lr > 0
        where, value = found
        raise ConfigError(f"{source}: {where}: expected a finite number; got {value}")
    return config


def load_config(path: str | Path, overrides: list[str] = ()) -> RunConfig:
    """Read a TOML config, apply ``section.key=value`` overrides and validate it."""
    path = Path(path)
    data = read_config_file(path)
    for override in overrides:
        apply_override(data, override)
    return parse_config(data, str(path))


def load_any_config(path: str | Path, overrides: list[str] = ()) -> RunConfig | PolicyRunConfig:
    """A supervised run's config, or a policy run's (a config with an ``[environment]``,
    :mod:`rnnlab.rl.config`), with ``section.key=value`` overrides applied."""
    path = Path(path)
    data = read_config_file(path)
    if not is_policy_config(data):
        return load_config(path, overrides)
    for override in overrides:
        _override_policy(data, override)
    return parse_policy_config(data, str(path))


def _override_policy(data: dict, override: str) -> None:
    target, sep, text = override.partition("=")
    parts = target.strip().split(".")
    if not sep or len(parts) != 2 or not all(parts):
        raise ConfigError(f"--set expects section.key=value, e.g. ppo.lr=0.001; got {override!r}")
    try:
        table = _parse_toml(f"value = {text.strip()}")
    except tomllib.TOMLDecodeError:
        table = {}
    value = table["value"] if list(table) == ["value"] else text.strip()
    section, name = parts
    if section not in PolicyRunConfig.model_fields:
        raise ConfigError(
            unknown_message(section, list(PolicyRunConfig.model_fields), "section", "--set")
        )
    data.setdefault(section, {})[name] = value


def read_config_file(path: str | Path, what: str = "config file") -> dict:
    """The TOML table of a config file, not yet validated; a clear ConfigError if it cannot be
    read or is not TOML (``what`` names the file in it: a config file, a sweep file)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} {path} is a directory, not a TOML file") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{what} {path} is not UTF-8 text: {error.reason}") from None
    except OSError as error:  # a name too long, no permission, ...
        raise ConfigError(f"{what} {path} cannot be read: {error.strerror}") from None
    except ValueError as error:  # the path holds a NUL character
        raise ConfigError(f"{what} {str(path)!r} cannot be read: {error}") from None
    try:
        return _parse_toml(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None


def apply_override(data: dict, override: str) -> None:
    """Set ``section.key=value`` in ``data``; the value is TOML, or a string if it is not."""
    target, sep, text = override.partition("=")
    parts = target.strip().split(".")
    if not sep or len(parts) != 2 or not all(parts):
        raise ConfigError(
            f"--set expects section.key=value, e.g. training.lr=0.01; got {override!r}"
        )
    try:
        table = _parse_toml(f"value = {text.strip()}")
    except tomllib.TOMLDecodeError:
        table = {}
    # Not one TOML value ("gru", or "1\nx = 2", which would set x too): the plain string.
    value = table["value"] if list(table) == ["value"] else text.strip()
    set_key(data, target.strip(), value, "--set")


def set_key(data: dict, key: str, value, where: str) -> None:
    """Set ``key`` (``section.key``, e.g. ``training.lr``) to ``value`` in the config table
    ``data``, which is validated later (:func:`parse_config`); ``where`` names the override's
    source in errors (``--set``, a sweep file)."""
    parts = key.split(".")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"{where}: expected a key section.key, e.g. training.lr; got {key!r}")
    section, name = parts
    if section not in RunConfig.model_fields:
        raise ConfigError(unknown_message(section, list(RunConfig.model_fields), "section", where))
    if not isinstance(data.setdefault(section, {}), dict):
        raise ConfigError(
            f"{where} {key!r}: [{section}] must be a table of keys; the config has "
            f"{section} = {data[section]!r}"
        )
    data[section][name] = value


def _parse_toml(text: str) -> dict:
    """``tomllib.loads``, with arrays nested too deeply for the parser a TOMLDecodeError."""
    try:
        return tomllib.loads(text)
    except RecursionError:  # tomllib recurses once per level of nesting
        raise tomllib.TOMLDecodeError("arrays or tables nested too deeply") from None


def save_config(config: RunConfig, path: Path) -> None:
    """Write the resolved config (every default filled in) as TOML."""
    data = config.model_dump(exclude_none=True)
    path.write_text(tomli_w.dumps(data), encoding="utf-8")


def _first_nonfinite(data, where: str = "") -> tuple[str, float] | None:
    """The key (``section.key``) and value of the first NaN or infinity in ``data``, if any."""
    if isinstance(data, float):
        return None if math.isfinite(data) else (where, data)
    if not isinstance(data, dict | list):
        return None
    for key, value in data.items() if isinstance(data, dict) else enumerate(data):
        found = _first_nonfinite(value, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def _section_fields(section: str, data: dict) -> list[str]:
    """The keys valid in ``section``, given the kind/name chosen in ``data``."""
    chosen = data.get(section, {}) if isinstance(data.get(section), dict) else {}
    if section == "model":
        model = MODELS.get(chosen.get("kind"))
        return list(model[0].model_fields) if model else ["kind"]
    if section == "task":
        task = TASKS.get(chosen.get("name"))
        return list(task[0].model_fields) if task else ["name"]
    return list(TrainingConfig.model_fields)


def _table_fields(location: list[str], data: dict) -> list[str]:
    """The keys valid in a table inside a section, ``location[:-1]`` (``task``,
    ``simulation`` for ``[task.simulation]``): the fields of that table's config class."""
    chosen = data.get(location[0], {}) if isinstance(data.get(location[0]), dict) else {}
    registry, tag = (MODELS, "kind") if location[0] == "model" else (TASKS, "name")
    entry = registry.get(chosen.get(tag)) if location[0] in ("model", "task") else None
    fields = entry[0].model_fields if entry else {}
    for part in location[1:-1]:
        field = fields.get(part)
        types = [] if field is None else [field.annotation, *typing.get_args(field.annotation)]
        tables = [t for t in types if isinstance(t, type) and issubclass(t, BaseModel)]
        fields = tables[0].model_fields if tables else {}
    return list(fields)


def _describe(error: dict, data: dict) -> str:
    location = [str(part) for part in error["loc"]]
    kind = error["type"]
    if location and location[0] in ("model", "task") and len(location) >= 2:
        location = [location[0], *location[2:]]  # drop the union tag pydantic inserts
    where = ".".join(location)
    if kind == "extra_forbidden":
        if len(location) == 1:
            return unknown_message(location[0], list(RunConfig.model_fields), "section", "config")
        if len(location) > 2:  # a key of a table inside a section, [task.simulation]
            table = ".".join(location[:-1])
            return unknown_message(location[-1], _table_fields(location, data), "key", f"[{table}]")
        return unknown_message(
            location[-1], _section_fields(location[0], data), "key", f"[{location[0]}]"
        )
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        choices = list(MODELS) if location[0] == "model" else list(TASKS)
        tag = "kind" if location[0] == "model" else "name"
        got = (
            data.get(location[0], {}).get(tag) if isinstance(data.get(location[0]), dict) else None
        )
        if got is None:
            return f"[{location[0]}] needs {tag} = one of {', '.join(choices)}"
        return unknown_message(str(got), choices, tag, f"[{location[0]}] {tag}")
    if kind == "value_error":
        return f"[{where}] {error['msg'].removeprefix('Value error, ')}"
    if kind == "missing":
        return f"{where} is required but missing"
    got = error.get("input")
    return f"{where}: {error['msg']}; got {got!r} ({type(got).__name__})"


def unknown_message(name: str, valid: list[str], what: str, where: str) -> str:
    """ "unknown key 'x' in [model]; valid: ...", with the closest valid name suggested."""
    message = f"unknown {what} {name!r} in {where}; valid: {', '.join(valid)}"
    close = difflib.get_close_matches(name, valid, n=1)
    return message + (f". Did you mean {close[0]!r}?" if close else "")
