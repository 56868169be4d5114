"""Classification evaluated: the n-gram baselines on the real split."""

from pathlib import Path

import pytest

from rnnlab.evaluation import classification
from rnnlab.tasks.names import Names, NamesConfig

NAMES = Path(__file__).resolve().parents[3] / "shared/data/names"


@pytest.fixture(scope="module")
def task():
    return Names(NamesConfig(path=str(NAMES)))


def test_baselines_beat_the_majority_class_on_the_real_split(task):
    found = classification.baselines(task, "val")
    assert set(found) == {"majority_class", "tfidf_logistic_regression", "ngram_naive_bayes"}
    assert found["majority_class"]["accuracy"] == pytest.approx(0.518, abs=0.005)
    for name in ("tfidf_logistic_regression", "ngram_naive_bayes"):
        assert found[name]["accuracy"] > 0.75
        assert found[name]["macro_f1"] > 2 * found["majority_class"]["macro_f1"]
