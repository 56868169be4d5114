"""The Elman (1990) replication, quick mode, one seed: what it writes and what must pass."""

import json

import numpy as np
import pytest

from rnnlab.experiments.elman1990 import SIMULATIONS, run


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("elman1990")
    results = run(out, seeds=1, quick=True, echo=lambda line: None)
    return out, results


def checks(results, simulation, mode):
    return {c["name"]: c for c in results["simulations"][simulation]["mode"][mode]["checks"]}


def test_results_json_has_every_simulation_mode_and_check_field(quick_run):
    out, _ = quick_run
    written = json.loads((out / "results.json").read_text())
    assert written["experiment"] == "elman1990" and written["seeds"] == [0]
    assert set(written["simulations"]) == set(SIMULATIONS)
    for simulation in SIMULATIONS:
        for mode in ("faithful", "modern"):
            summary = written["simulations"][simulation]["mode"][mode]
            assert summary["seconds"] > 0 and summary["checks"]
            for check in summary["checks"]:
                assert {"name", "value", "paper", "criterion", "passed"} <= set(check)


@pytest.mark.parametrize("mode", ["faithful", "modern"])
@pytest.mark.parametrize("simulation", ["temporal_xor", "letters", "words"])
def test_quick_run_passes_the_sequence_checks(quick_run, simulation, mode):
    failed = [c["name"] for c in checks(quick_run[1], simulation, mode).values() if not c["passed"]]
    assert failed == []


@pytest.mark.parametrize("mode", ["faithful", "modern"])
def test_quick_run_separates_nouns_and_verbs(quick_run, mode):
    found = checks(quick_run[1], "lexical_classes", mode)
    assert found["words whose nearest word is of the other class"]["passed"]
    assert found["silhouette of nouns vs verbs"]["passed"]
    assert found["1-NN word type of single hidden vectors"]["passed"]


def test_outputs_word_vectors_figures_and_report(quick_run):
    out, _ = quick_run
    vectors = np.load(out / "lexical_classes" / "word_vectors.npz")
    assert vectors["words"].shape == (29,) and vectors["vectors"].shape == (29, 150)
    for figure in ("fig3_xor", "fig4_letters", "fig5_letter_bits", "fig6_words",
                   "fig7_words_faithful", "fig8_zog_modern", "pca_letters_faithful"):  # fmt: skip
        assert (out / f"{figure}.png").stat().st_size > 1000
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 10
    assert "Temporal XOR" in page and "zog" in page
