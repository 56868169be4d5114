"""Every example run config loads and builds."""

from pathlib import Path

import pytest

from rnnlab.train.build import build
from rnnlab.train.config import load_config
from tests.tasks.speech_data import write_recordings

# The sweep files (sweep_*.toml) name a base config instead: tests/train/test_sweep.py loads them.
# Policy runs (a config with [environment]): tests/rl/test_policy_run.py builds them.
EXAMPLES = sorted(
    path
    for path in (Path(__file__).resolve().parents[1] / "examples").glob("*.toml")
    if not path.name.startswith("sweep_") and "[environment]" not in path.read_text()
)


# The speech examples read the Free Spoken Digit Dataset and compute its features (29 s on the
# 2-core machine, every fresh clone): here they read generated recordings of three voices, and
# make few strings. Their sizes and models are the examples' own.
SPEECH = {
    "spoken_digits": [],
    "digit_strings": ["task.train_strings=20", "task.val_strings=5", "task.test_strings=5"],
}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    return write_recordings(tmp_path_factory.mktemp("fsdd"), ("theo", "anna", "bert"), 6)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_config_builds(path, recordings, tmp_path):
    overrides = []
    if path.stem in SPEECH:
        overrides = [f"task.path={recordings}", f"task.cache_dir={tmp_path}", *SPEECH[path.stem]]
    config = load_config(path, overrides)
    task, network = build(config)
    assert network.readout.out_features == task.output_size
    if task.targets == "sequence":
        assert network.source_embedding.num_embeddings == task.input_size
