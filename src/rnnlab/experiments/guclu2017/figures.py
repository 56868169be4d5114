"""The replication's figures (matplotlib, Agg): median r per model and condition with the
noise ceiling, voxels' r of the RNN against the best ridge model, and impulse responses."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rnnlab.tasks.bold_simulation import canonical_hrf


def plot_medians(path: Path, medians: dict[str, dict[str, list[float]]],
                 ceilings: dict[str, list[float]]) -> Path:  # fmt: skip
    """Bars: median r per model (mean over seeds, the seeds as dots) for each condition, and
    the median noise ceiling as a line."""
    conditions = list(medians)
    fig, axes = plt.subplots(1, len(conditions), figsize=(5 * len(conditions), 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, condition in zip(axes, conditions):
        names = list(medians[condition])
        values = [np.mean(medians[condition][n]) for n in names]
        colours = ["#999" if n.startswith("R-") else "#36c" for n in names]
        ax.bar(range(len(names)), values, color=colours)
        for i, n in enumerate(names):
            ax.plot([i] * len(medians[condition][n]), medians[condition][n], "k.", ms=3)
        ax.axhline(np.mean(ceilings[condition]), color="r", ls="--", label="noise ceiling")
        ax.set_xticks(range(len(names)), names, rotation=60, fontsize=8)
        ax.set_title(f"{condition.upper()}: median r over voxels (test run)")
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel("median Pearson r")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_scatter(path: Path, r_rnn: np.ndarray, r_ridge: np.ndarray, rnn: str, ridge: str,
                 title: str) -> Path:  # fmt: skip
    """Each voxel's r: the RNN's against the best ridge model's."""
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot(r_ridge, r_rnn, ".", ms=4, alpha=0.6)
    low = min(r_rnn.min(), r_ridge.min(), 0)
    ax.plot([low, 1], [low, 1], "k-", lw=0.8)
    ax.set_xlabel(f"r, {ridge}")
    ax.set_ylabel(f"r, {rnn}")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_impulses(path: Path, curves: dict[str, np.ndarray], tr: float = 1.0) -> Path:
    """Impulse responses (peak-normalised), per model, against the canonical HRF."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    fine = canonical_hrf(0.1)
    ax.plot(np.arange(len(fine)) * 0.1, fine / fine.max(), "k--", label="canonical HRF (SPM)")
    for name, curve in curves.items():
        t = (np.arange(len(curve)) + 1) * tr
        ax.plot(t, curve / np.abs(curve).max(), label=name)
    ax.set_xlabel("s after the pulse's onset")
    ax.set_ylabel("response (peak = 1)")
    ax.set_xlim(0, 30)
    ax.legend(fontsize=8)
    ax.set_title("impulse response of the trained networks (NL)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
