"""Config: unknown keys and wrong types are clear errors; overrides; the saved config reloads."""

import re

import pytest

from rnnlab.errors import ConfigError
from rnnlab.tasks.registry import TASKS
from rnnlab.train.config import RunConfig, apply_override, load_config, parse_config, save_config

BASE = {"model": {"kind": "elman", "hidden_size": 4}, "task": {"name": "letters"}}


def with_(section: str, **values) -> dict:
    data = {key: dict(value) for key, value in BASE.items()}
    data.setdefault(section, {}).update(values)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            with_("training", lrr=0.1),
            "unknown key 'lrr' in [training]; valid: seed, optimizer, lr,",
        ),
        (with_("training", lrr=0.1), "Did you mean 'lr'?"),
        (with_("model", hiden_size=4), "unknown key 'hiden_size' in [model]; valid: hidden_size,"),
        (with_("model", peephole=True), "unknown key 'peephole' in [model]; valid: hidden_size"),
        (with_("task", num_consonant=9), "Did you mean 'num_consonants'?"),
        (
            with_("trainin", lr=0.1),
            "unknown section 'trainin' in config; valid: model, task, training",
        ),
        (
            with_("model", kind="elmn"),
            "unknown kind 'elmn' in [model] kind; valid: elman, jordan, gru, lstm, ctrnn, mingru, "
            "minlstm. Did you mean 'elman'?",
        ),
        (
            with_("task", name="leters"),
            "unknown name 'leters' in [task] name; valid: temporal_xor, letters, words, "
            "lexical_classes, adding, latch, two_sequence, parity, copy_memory, reber, names, "
            f"char_lm, translation, forecast, {', '.join(list(TASKS)[14:])}. "
            "Did you mean 'letters'?",
        ),
        (
            with_("model", hidden_size="4"),
            "model.hidden_size: Input should be a valid integer; got '4' (str)",
        ),
        (
            with_("training", lr="fast"),
            "training.lr: Input should be a valid number; got 'fast' (str)",
        ),
        (
            with_("training", lr=-1.0),
            "training.lr: Input should be greater than 0; got -1.0 (float)",
        ),
        (
            with_("training", max_steps=1.5),
            "training.max_steps: Input should be a valid integer; got 1.5",
        ),
        (with_("training", bptt="truncated"), "[training] bptt = 'truncated' needs chunk_length"),
        (with_("training", optimizer="adam", momentum=0.9), "momentum applies to sgd and rmsprop"),
        ({"model": {"kind": "gru", "hidden_size": 3}}, "task is required but missing"),
    ],
)
def test_bad_config_names_the_key(data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(data)


def test_overrides_are_typed_and_checked(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[model]\nkind = "elman"\nhidden_size = 4\n[task]\nname = "letters"\n')
    config = load_config(path, ["training.lr=0.5", "model.kind=gru", "training.bptt=online"])
    assert config.training.lr == 0.5 and config.model.kind == "gru"
    assert config.training.bptt == "online"
    with pytest.raises(
        ConfigError,
        match=re.escape("training.max_steps: Input should be a valid integer; got 'many'"),
    ):
        load_config(path, ["training.max_steps=many"])
    with pytest.raises(ConfigError, match=re.escape("--set expects section.key=value")):
        apply_override({}, "lr=0.1")
    with pytest.raises(ConfigError, match=re.escape("unknown section 'trainig' in --set")):
        apply_override({}, "trainig.lr=0.1")


@pytest.mark.parametrize(
    ("text", "message"),
    [(None, "does not exist"), ("[model\n", "is not valid TOML")],
)
def test_unreadable_config_file(tmp_path, text, message):
    path = tmp_path / "run.toml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_saved_config_reloads_identically(tmp_path):
    config = parse_config(with_("training", lr=0.01, bptt="truncated", chunk_length=5))
    save_config(config, tmp_path / "config.toml")
    assert load_config(tmp_path / "config.toml") == config
    assert isinstance(config, RunConfig)
    assert "max_steps = 1000" in (tmp_path / "config.toml").read_text()  # defaults are resolved
