"""The long-range benchmark, quick mode: it runs, writes its outputs, and the table is right."""

import json

import pytest

from rnnlab.experiments.long_range import CELLS, STEPS, run, verdict


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """``--quick`` itself (77 s on the 2-core machine): under -m slow."""
    out = tmp_path_factory.mktemp("long_range")
    return out, run(out, quick=True, echo=lambda line: None)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """``--quick`` with 30 updates per training: every output, none of the learning."""
    out = tmp_path_factory.mktemp("long_range_short")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(STEPS, "quick", {"adding": 30, "copy_memory": 30})
        return out, run(out, quick=True, echo=lambda line: None)


def test_outputs(short_run):
    out, results = short_run
    assert results["steps"] == {"adding": 30, "copy_memory": 30}
    written = json.loads((out / "results.json").read_text())
    assert set(written["table"]) == {"adding", "copy_memory"}
    assert set(written["table"]["adding"]["50"]) == set(CELLS)
    for figure in ("curves_adding", "curves_copy_memory", "gradient_flow"):
        assert (out / f"{figure}.png").stat().st_size > 1000
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 3


def test_parameter_counts_are_matched(short_run):
    counts = {r["cell"]: r["parameters"] for r in short_run[1]["runs"] if r["task"] == "adding"}
    assert max(counts.values()) / min(counts.values()) < 1.05, counts


@pytest.mark.slow
def test_gated_cells_solve_adding_at_50_and_elman_does_not_in_600_steps(quick_run):
    table = quick_run[1]["table"]["adding"]["50"]
    assert table["lstm"]["mean_loss"] < 0.05 and table["gru"]["mean_loss"] < 0.05
    assert table["elman"]["mean_loss"] > 0.1


@pytest.mark.parametrize(
    ("task", "metrics", "T", "expected"),
    [("adding", {"loss": 0.005}, 200, "solved"), ("adding", {"loss": 0.16}, 200, "failed"),
     ("adding", {"loss": 0.05}, 200, "partial"),
     ("copy_memory", {"loss": 0.01, "recall_accuracy": 0.995}, 20, "solved"),
     ("copy_memory", {"loss": 0.51, "recall_accuracy": 0.13}, 20, "at baseline")],
)  # fmt: skip
def test_verdicts(task, metrics, T, expected):
    assert verdict(task, metrics, T) == expected
