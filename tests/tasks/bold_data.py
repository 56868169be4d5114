"""A generated pair of ``.npz`` files of fMRI runs for the tests of a user's own data: each
voxel's response is a known linear filter of the features plus noise, so that the tests need
no simulation and a model has something to learn."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

KERNEL = np.array([0.0, 0.4, 1.0, 0.7, 0.3, 0.1])  # the response to a unit input, TR by TR


@dataclass(frozen=True)
class Runs:
    """The two files and what they hold: features (R, T, F), responses (R, T, V), and the
    noise-free signal (R, T, V)."""

    features_path: Path
    responses_path: Path
    features: np.ndarray
    responses: np.ndarray
    clean: np.ndarray


def write_runs(directory: Path, runs: int = 4, steps: int = 120, features: int = 3,
               voxels: int = 5, seed: int = 0) -> Runs:  # fmt: skip
    """``features.npz`` and ``responses.npz`` in ``directory``, runs named run0, run1, ...:
    sparse non-negative features; responses ``sum_k KERNEL[k] W x[t - k] + 2`` with W (V, F)
    ~ N(0, 1), plus N(0, 0.3) noise."""
    rng = np.random.default_rng(seed)
    x = rng.random((runs, steps, features)) * (rng.random((runs, steps, features)) < 0.3)
    w = rng.normal(0, 1, (voxels, features))
    drive = x @ w.T  # (R, T, V)
    clean = np.stack([
        np.stack([np.convolve(drive[r, :, v], KERNEL)[:steps] for v in range(voxels)], 1)
        for r in range(runs)
    ]) + 2.0  # fmt: skip
    y = clean + rng.normal(0, 0.3, clean.shape)
    directory.mkdir(parents=True, exist_ok=True)
    paths = directory / "features.npz", directory / "responses.npz"
    np.savez(paths[0], **{f"run{r}": x[r] for r in range(runs)})
    np.savez(paths[1], **{f"run{r}": y[r] for r in range(runs)})
    return Runs(*paths, x, y, clean)
