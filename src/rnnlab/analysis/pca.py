"""Principal components of hidden states, for plotting trajectories."""

import numpy as np


def principal_axes(
    vectors: np.ndarray, components: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean (D,) of (N, D) vectors, their first principal axes (components, D) as rows,
    and the fraction of variance each explains, so that other vectors (fixed points beside
    the trajectories that the axes were fitted on) project the same way:
    ``(other - mean) @ axes.T``."""
    vectors = np.asarray(vectors, dtype=np.float64)
    mean = vectors.mean(0)
    _, singular, basis = np.linalg.svd(vectors - mean, full_matrices=False)
    total = (singular**2).sum()
    explained = singular**2 / total if total > 0 else np.zeros_like(singular)
    return mean, basis[:components], explained[:components]


def pca(vectors: np.ndarray, components: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Project (N, D) vectors on their first principal components.

    Returns the projections (N, components) and the fraction of variance each explains.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    mean, axes, explained = principal_axes(vectors, components)
    return (vectors - mean) @ axes.T, explained
