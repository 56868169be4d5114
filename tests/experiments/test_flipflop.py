"""The flip-flop replication, quick mode with one seed: it runs, writes its outputs, and its
checks pass (one GRU trained, its fixed points found; about 15 s; the CTRNN's, about 50 s,
under -m slow)."""

import json

import pytest

from rnnlab.experiments.flipflop import run


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("flipflop")
    return out, run(out, seeds=1, quick=True, echo=lambda line: None, cells=("gru",))


def test_outputs(quick_run):
    out, results = quick_run
    written = json.loads((out / "results.json").read_text())
    assert written["experiment"] == "flipflop" and written["seeds"] == 1
    assert len(written["runs"]) == 1 and written["checks"] == results["checks"]
    for check in written["checks"]:
        assert set(check) == {"name", "value", "paper", "criterion", "passed", "required"}
    for figure in ("fixed_points", "spectra"):
        assert (out / f"{figure}.png").stat().st_size > 1000
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 2
    assert (out / "gru-seed0" / "config.toml").exists()


def test_every_check_passes(quick_run):
    failed = [c["name"] for c in quick_run[1]["checks"] if c["required"] and not c["passed"]]
    assert not failed, quick_run[1]["runs"]
    run0 = quick_run[1]["runs"][0]
    assert run0["stable"] >= 8 and run0["patterns_covered"] == 8


@pytest.mark.slow
def test_every_check_of_the_ctrnn_passes(tmp_path):
    results = run(tmp_path, seeds=1, quick=True, echo=lambda line: None, cells=("ctrnn",))
    failed = [c["name"] for c in results["checks"] if c["required"] and not c["passed"]]
    assert not failed, results["runs"]
    assert results["runs"][0]["cell"] == "ctrnn" and results["runs"][0]["patterns_covered"] == 8
    assert (tmp_path / "fixed_points_ctrnn.png").stat().st_size > 1000
