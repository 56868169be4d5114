"""Every example run config loads and builds."""

from pathlib import Path

import pytest

from rnnlab.train.build import build
from rnnlab.train.config import load_config

# The sweep files (sweep_*.toml) name a base config instead: tests/train/test_sweep.py loads them.
# Policy runs (a config with [environment]): tests/rl/test_policy_run.py builds them.
EXAMPLES = sorted(
    path
    for path in (Path(__file__).resolve().parents[1] / "examples").glob("*.toml")
    if not path.name.startswith("sweep_") and "[environment]" not in path.read_text()
)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_config_builds(path):
    config = load_config(path)
    task, network = build(config)
    assert network.readout.out_features == task.output_size
    if task.targets == "sequence":
        assert network.source_embedding.num_embeddings == task.input_size
