"""Errors folded by position in a cycle: how prediction error depends on where in a pattern
a step falls (Elman 1990, Figs. 3-5)."""

import numpy as np


def fold(values: np.ndarray, period: int, offset: int = 0) -> np.ndarray:
    """Mean of ``values`` (T,) at each phase ``(t + offset) % period``: shape (period,)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or period < 1 or len(values) < period:
        raise ValueError(
            f"fold needs a 1-D sequence at least one period ({period}) long; "
            f"got shape {values.shape}"
        )
    phases = (np.arange(len(values)) + offset) % period
    return np.array([values[phases == k].mean() for k in range(period)])


def group_means(values: np.ndarray, labels: list) -> dict:
    """Mean of ``values`` for each distinct label, in order of first appearance."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) != len(labels):
        raise ValueError(f"got {len(values)} values but {len(labels)} labels")
    result: dict = {}
    for label in dict.fromkeys(labels):
        result[label] = float(values[[k for k, lab in enumerate(labels) if lab == label]].mean())
    return result
