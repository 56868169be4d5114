"""The speech baselines: DTW against librosa's, nearest neighbour, and the HMM per class."""

import numpy as np
import pytest

from rnnlab.evaluation.baselines.speech import HMMClassifier, dtw_distance, dtw_nearest


@pytest.mark.parametrize("n, m", [(1, 1), (3, 7), (12, 5)])
def test_dtw_matches_librosa(n, m):
    import librosa

    rng = np.random.default_rng(n * 100 + m)
    a, b = rng.normal(size=(n, 4)), rng.normal(size=(m, 4))
    cost, _ = librosa.sequence.dtw(X=a.T, Y=b.T, metric="euclidean")
    assert abs(dtw_distance(a, b) - cost[-1, -1] / (n + m)) < 1e-10


def test_dtw_is_blind_to_warping_and_nearest_neighbour_reads_it():
    base = np.sin(np.linspace(0, 3, 20))[:, None] * np.array([[1.0, -1.0]])
    stretched = np.repeat(base, 2, axis=0)  # the same sequence, twice as slow
    assert dtw_distance(base, stretched) == pytest.approx(0, abs=1e-12)
    other = -base
    labels = np.array([3, 7])
    assert dtw_nearest([base, other], labels, [stretched, -stretched]).tolist() == [3, 7]


def test_the_hmm_per_class_picks_the_class_whose_states_fit():
    rng = np.random.default_rng(0)
    means = {0: np.array([[-3.0, 0.0], [0.0, 3.0], [3.0, 0.0]]),
             1: np.array([[-3.0, 1.5], [1.5, 3.0], [3.0, -1.5]])}  # fmt: skip

    def sequence(label):  # three segments of random length, one per state
        return np.concatenate(
            [m + 0.5 * rng.normal(size=(int(rng.integers(5, 12)), 2)) for m in means[label]]
        )

    labels = np.array([0, 1] * 20)
    classifier = HMMClassifier(n_states=3, n_iter=20, seed=0)
    classifier.fit([sequence(y) for y in labels], labels)
    test = np.array([1, 0] * 10)
    scores = classifier.log_likelihoods([sequence(y) for y in test])  # (N, classes)
    assert scores.shape == (20, 2)
    assert (classifier.predict([sequence(y) for y in test]) == test).mean() >= 0.95
