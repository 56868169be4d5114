"""The analysis pieces on cases whose answers are known by hand."""

import numpy as np
import pytest

from rnnlab.analysis.clustering import Clustering, mean_vectors, nearest_neighbour_accuracy
from rnnlab.analysis.folding import fold, group_means
from rnnlab.analysis.likelihood import cosines, likelihood_vectors
from rnnlab.analysis.pca import pca


def test_fold_averages_each_phase():
    values = np.array([1, 2, 3, 1, 2, 3, 1, 2, 3.0])
    assert fold(values, 3).tolist() == [1, 2, 3]
    assert fold(values, 3, offset=1).tolist() == [3, 1, 2]
    with pytest.raises(ValueError, match="at least one period"):
        fold(values[:2], 3)
    assert group_means([1, 3, 5], ["a", "b", "a"]) == {"a": 3.0, "b": 3.0}


def test_likelihood_vectors_count_successors_of_identical_prefixes():
    sentences = [("a", "b"), ("a", "c"), ("d", "b"), ("a", "b")]
    index = {"a": 0, "b": 1, "c": 2, "d": 3}
    vectors = likelihood_vectors(sentences, index, 4)
    assert vectors.shape == (7, 4)  # 8 words, no successor after the last
    np.testing.assert_allclose(vectors[0], [0, 2 / 3, 1 / 3, 0])  # after "a": b twice, c once
    # after "a b": the first word of the next sentence (the last sentence has none)
    np.testing.assert_allclose(vectors[1], [1, 0, 0, 0])
    np.testing.assert_allclose(vectors[4], [0, 1, 0, 0])  # after "d": b
    np.testing.assert_allclose(cosines(vectors[:2], vectors[:2]), [1, 1])


def test_clustering_finds_planted_groups():
    rng = np.random.default_rng(0)
    centres = {"x": [0, 0], "y": [10, 0], "z": [0, 10]}
    labels = [f"{g}{k}" for g in centres for k in range(3)]
    vectors = np.array([np.array(centres[label[0]]) + rng.normal(0, 0.1, 2) for label in labels])
    tree = Clustering.of(labels, vectors)
    assert tree.ari(3, {label: label[0] for label in labels}) == 1.0
    assert {"x0", "x1", "x2"} in tree.groups(3)
    assert tree.nearest("y0")[0] == "y"
    assert tree.silhouette({label: label[0] for label in labels}) > 0.9
    words, means = mean_vectors(vectors, [label[0] for label in labels])
    assert words == ["x", "y", "z"]
    np.testing.assert_allclose(means[1], [10, 0], atol=0.2)
    assert nearest_neighbour_accuracy(vectors, [label[0] for label in labels], sample=9) == 1.0


def test_pca_recovers_the_main_axis():
    rng = np.random.default_rng(0)
    points = np.outer(rng.normal(size=200), [3.0, 4.0]) + rng.normal(0, 0.01, (200, 2))
    projection, explained = pca(points, 1)
    assert explained[0] > 0.99
    assert np.corrcoef(projection[:, 0], points[:, 0])[0, 1] ** 2 > 0.99
