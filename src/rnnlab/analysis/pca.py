"""Principal components of hidden states, for plotting trajectories."""

import numpy as np


def pca(vectors: np.ndarray, components: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Project (N, D) vectors on their first principal components.

    Returns the projections (N, components) and the fraction of variance each explains.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    centred = vectors - vectors.mean(0)
    _, singular, basis = np.linalg.svd(centred, full_matrices=False)
    explained = singular**2 / (singular**2).sum()
    return centred @ basis[:components].T, explained[:components]
