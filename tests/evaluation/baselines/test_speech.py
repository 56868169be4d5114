"""The speech baselines: DTW against librosa's, nearest neighbour, and the HMM per class on
sequences whose classes differ in their order of states."""

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


def test_the_hmm_per_class_tells_apart_the_order_of_states():
    rng = np.random.default_rng(0)
    means = np.array([[-3.0, 0.0], [0.0, 3.0], [3.0, 0.0]])

    def sequence(order):  # three segments of random length, one per state, in this order
        return np.concatenate(
            [means[s] + 0.5 * rng.normal(size=(int(rng.integers(5, 12)), 2)) for s in order]
        )

    orders = {0: [0, 1, 2], 1: [2, 1, 0]}  # the same frames, in opposite orders
    frames = [sequence(orders[y]) for y in [0, 1] * 20]
    labels = np.array([0, 1] * 20)
    classifier = HMMClassifier(n_states=3, n_iter=20, seed=0).fit(frames, labels)
    test = [sequence(orders[y]) for y in [0, 1] * 10]
    assert (classifier.predict(test) == np.array([0, 1] * 10)).mean() >= 0.95
