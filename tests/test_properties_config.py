"""Properties of the run config loader (rnnlab.train.config): whatever a TOML file or a
``--set`` override holds, the result is a valid RunConfig, or a ConfigError with a one-line
message; never another exception.

Each property runs with the "ci" profile's few examples and, marked slow, with the "slow"
profile's many (tests/conftest.py).
"""

import math
import tempfile
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.errors import ConfigError
from rnnlab.models.config import MODELS
from rnnlab.tasks import TASKS
from rnnlab.train.config import RunConfig, TrainingConfig, load_config, save_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_CONFIGS = sorted(EXAMPLES.glob("*.toml"))
SLOW = settings.get_profile("slow")

SECTIONS = ["model", "task", "training"]
# Real keys and choices, so that most mutations land near a valid config.
SECTION_KEYS = {
    "model": sorted({key for config, _ in MODELS.values() for key in config.model_fields}),
    "task": sorted({key for config, _ in TASKS.values() for key in config.model_fields}),
    "training": sorted(TrainingConfig.model_fields),
}
KEYS = sorted({key for section in SECTION_KEYS.values() for key in section})
NAMES = [*MODELS, *TASKS, "sgd", "adam", "truncated", "full", "online", "none", "cosine"]

keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=12))
scalars = st.one_of(
    st.integers(),
    st.integers(min_value=-3, max_value=200),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324, 0.5]),
    st.booleans(),
    st.sampled_from(NAMES),
    st.text(max_size=20),
    st.dates(),
    st.datetimes(),
    st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=8,
)


@st.composite
def config_dicts(draw) -> dict:
    """An example config with random keys set, removed or replaced by other types."""
    data = tomllib.loads(draw(st.sampled_from(EXAMPLE_CONFIGS)).read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(0, 4))):
        section = draw(st.sampled_from(SECTIONS) | st.text(max_size=8))
        action = draw(st.sampled_from(["set", "delete", "replace section"]))
        if action == "replace section":
            data[section] = draw(values)
        elif action == "delete":
            if isinstance(data.get(section), dict):
                data[section].pop(draw(keys), None)
            else:
                data.pop(section, None)
        elif isinstance(data.setdefault(section, {}), dict):
            key = draw(st.sampled_from(SECTION_KEYS.get(section, KEYS)) | keys)
            data[section][key] = draw(values)
    return data


def override_texts() -> st.SearchStrategy[str]:
    """``--set`` arguments: well-formed ones with odd values, and arbitrary text."""
    value_texts = st.one_of(
        values.map(lambda v: tomli_w.dumps({"v": v}).partition("=")[2].strip()),
        st.text(max_size=20),
    )
    well_formed = st.builds(
        lambda section, key, value: f"{section}.{key}={value}",
        st.sampled_from(SECTIONS) | st.text(max_size=8),
        keys,
        value_texts,
    )
    return well_formed | st.text(max_size=30)


def check_load(content: bytes, overrides: list[str] = ()) -> None:
    """The property: ``content`` as a config file loads to a RunConfig, which survives a
    save and load unchanged, or is refused with a one-line ConfigError."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "run.toml"
        path.write_bytes(content)
        try:
            config = load_config(path, overrides)
        except ConfigError as error:
            message = str(error)
            assert message and "\n" not in message, message
            return
        assert isinstance(config, RunConfig)
        saved = Path(directory) / "saved.toml"
        save_config(config, saved)
        assert load_config(saved) == config


def check_dict(data: dict, overrides: list[str] = ()) -> None:
    try:
        content = tomli_w.dumps(data).encode("utf-8")
    except (TypeError, ValueError):  # tomli_w cannot write it: not a TOML document
        return
    check_load(content, overrides)


@given(config_dicts())
def test_config_file_loads_or_is_a_config_error(data):
    check_dict(data)


@given(config_dicts(), st.lists(override_texts(), max_size=4))
def test_overrides_load_or_are_a_config_error(data, overrides):
    check_dict(data, overrides)


@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_load_or_are_a_config_error(content):
    check_load(content)


@given(
    st.text(max_size=100),
    st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252", "utf-8-sig"]),
)
def test_text_in_any_encoding_loads_or_is_a_config_error(text, encoding):
    try:
        content = text.encode(encoding)
    except UnicodeEncodeError:
        return
    check_load(content)


@pytest.mark.parametrize("depth", [10, 1000, 100_000])
def test_deeply_nested_arrays_are_a_config_error(depth):
    check_load(b"[model]\nkind = " + b"[" * depth + b"]" * depth + b"\n")
    check_load(EXAMPLE_CONFIGS[0].read_bytes(), [f"model.hidden_size={'[' * depth}{']' * depth}"])


def test_an_override_is_one_value_not_a_toml_document():
    with pytest.raises(ConfigError, match=r"training\.lr: Input should be a valid number"):
        load_config(EXAMPLES / "elman_letters.toml", ["training.lr=0.1\nmax_steps = 5"])


@pytest.mark.parametrize(
    "override", ["training.stop_below=nan", "training.lr=inf", "model.forget_bias=-inf"]
)
def test_a_number_that_is_not_finite_is_a_config_error(override):
    with pytest.raises(ConfigError, match="expected a finite number"):
        load_config(EXAMPLES / "lstm_adding.toml", [override])


# torch takes no seed from 2**64 on, numpy no negative one, scikit-learn none from 2**32 on.
@pytest.mark.parametrize(
    "override", ["training.seed=-1", "task.seed=-1", "training.seed=18446744073709551616",
                 "task.seed=4294967296"],
)  # fmt: skip
def test_a_seed_out_of_range_is_a_config_error(override):
    with pytest.raises(ConfigError, match=r"seed: Input should be (greater|less)"):
        load_config(EXAMPLES / "lstm_adding.toml", [override])


def test_an_override_into_a_section_that_is_not_a_table_is_a_config_error(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("model = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[model\] must be a table"):
        load_config(path, ["model.hidden_size=3"])


@pytest.mark.parametrize(
    ("name", "message"),
    [("a" * 300 + ".toml", "cannot be read"), ("a\x00b.toml", "cannot be read")],
)
def test_an_unreadable_config_path_is_a_config_error(name, message):
    with pytest.raises(ConfigError, match=message):
        load_config(name)


@pytest.mark.slow
@settings(SLOW)
@given(config_dicts(), st.lists(override_texts(), max_size=4))
def test_overrides_load_or_are_a_config_error_many(data, overrides):
    check_dict(data, overrides)


@pytest.mark.slow
@settings(SLOW)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_bytes_load_or_are_a_config_error_many(content):
    check_load(content)
