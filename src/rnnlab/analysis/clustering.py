"""Hierarchical clustering of hidden representations and the checks Elman's Fig. 7 invites."""

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import cdist
from sklearn.metrics import adjusted_rand_score, silhouette_score


@dataclass(frozen=True)
class Clustering:
    """Average-linkage (Euclidean) clustering of labelled vectors."""

    labels: tuple[str, ...]
    vectors: np.ndarray  # (N, D)
    tree: np.ndarray  # scipy linkage matrix

    @classmethod
    def of(cls, labels, vectors: np.ndarray) -> "Clustering":
        vectors = np.asarray(vectors, dtype=np.float64)
        return cls(tuple(labels), vectors, linkage(vectors, method="average", metric="euclidean"))

    def cut(self, k: int) -> dict[str, int]:
        """Cluster number of every label when the tree is cut into ``k`` clusters."""
        return dict(zip(self.labels, fcluster(self.tree, k, criterion="maxclust").tolist()))

    def groups(self, k: int) -> list[set[str]]:
        """The ``k`` clusters as sets of labels."""
        found: dict[int, set[str]] = {}
        for label, cluster in self.cut(k).items():
            found.setdefault(cluster, set()).add(label)
        return sorted(found.values(), key=lambda g: sorted(g))

    def ari(self, k: int, truth: dict[str, str]) -> float:
        """Adjusted Rand index of the ``k``-cut against ``truth`` (label -> group)."""
        cut = self.cut(k)
        return float(adjusted_rand_score([truth[label] for label in self.labels],
                                         [cut[label] for label in self.labels]))  # fmt: skip

    def nearest(self, label: str) -> str:
        """The label whose vector is closest to ``label``'s."""
        i = self.labels.index(label)
        distances = np.linalg.norm(self.vectors - self.vectors[i], axis=1)
        distances[i] = np.inf
        return self.labels[int(distances.argmin())]

    def silhouette(self, truth: dict[str, str]) -> float:
        return float(silhouette_score(self.vectors, [truth[label] for label in self.labels]))


def mean_vectors(vectors: np.ndarray, labels: list[str]) -> tuple[list[str], np.ndarray]:
    """The mean vector of each label, in order of first appearance."""
    order = list(dict.fromkeys(labels))
    labels_array = np.array(labels)
    return order, np.stack([vectors[labels_array == label].mean(0) for label in order])


def nearest_neighbour_accuracy(vectors: np.ndarray, labels: list[str], sample: int,
                               seed: int = 0) -> float:  # fmt: skip
    """Leave-one-out 1-NN classification accuracy of ``sample`` random tokens by label."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(vectors), size=min(sample, len(vectors)), replace=False)
    distances = cdist(vectors[chosen], vectors)
    distances[np.arange(len(chosen)), chosen] = np.inf
    labels_array = np.array(labels)
    return float((labels_array[distances.argmin(1)] == labels_array[chosen]).mean())
