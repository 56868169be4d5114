"""The figures of the Munakata et al. (1997) replication (matplotlib, Agg)."""

from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

CURVES = {  # measure -> (label, colour)
    "looking": ("looking (surprise, impossible - possible)", "tab:red"),
    "reach_visible": ("reach accuracy, visible (transparent)", "tab:green"),
    "reach_occluded": ("reach accuracy, occluded (opaque)", "tab:blue"),
    "toy_guided_transparent": ("toy-guided reaching, transparent", "tab:olive"),
    "toy_guided_opaque": ("toy-guided reaching, opaque", "tab:cyan"),
}
CRITERIA = {"look": "tab:red", "reach_visible": "tab:green", "reach_occluded": "tab:blue"}


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def development(conditions: dict, criteria: dict, path: Path) -> Path:
    """Each measure against epochs, mean and ±1 sd over seeds, per condition; the median
    criterion epochs as vertical lines."""
    figure, axes = plt.subplots(1, len(conditions), figsize=(6 * len(conditions), 4),
                                squeeze=False, sharey=True)  # fmt: skip
    for ax, (name, condition) in zip(axes[0], conditions.items()):
        for measure, (label, colour) in CURVES.items():
            values = condition.curves[measure]  # (N, epochs + 1)
            mean, sd = values.mean(0), values.std(0)
            epochs = np.arange(len(mean))
            style = "--" if measure.startswith("toy_guided") else "-"
            ax.plot(epochs, mean, style, color=colour, label=label, lw=1.5)
            ax.fill_between(epochs, mean - sd, mean + sd, color=colour, alpha=0.15)
        for key, colour in CRITERIA.items():
            epochs = [e for e in criteria[name][key] if e is not None]
            if epochs:
                ax.axvline(np.median(epochs), color=colour, ls=":", lw=1.2)
        ax.axhline(0.75, color="grey", lw=0.6)
        ax.set(title=f"{name}: mean ± sd over {len(condition.curves['looking'])} networks",
               xlabel="training epoch", ylim=(-1.05, 1.05))  # fmt: skip
    axes[0, 0].set_ylabel("measure (dotted: median criterion epochs)")
    axes[0, 0].legend(fontsize=7, loc="lower right")
    return _save(figure, path)


def lags(criteria: dict, never: int, path: Path) -> Path:
    """Per seed: the three criterion epochs of each condition (a criterion never met is drawn
    at ``never``, hollow)."""
    names = list(criteria)
    figure, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False,
                                sharey=True)  # fmt: skip
    for ax, name in zip(axes[0], names):
        for offset, (key, colour) in zip((-0.2, 0, 0.2), CRITERIA.items()):
            epochs = criteria[name][key]
            seeds = np.arange(len(epochs)) + offset
            met = np.array([e is not None for e in epochs])
            values = np.array([never if e is None else e for e in epochs], dtype=float)
            ax.scatter(seeds[met], values[met], color=colour, label=key, s=22)
            ax.scatter(seeds[~met], values[~met], facecolors="none", edgecolors=colour, s=22)
        ax.set(title=f"{name}: criterion epochs per seed", xlabel="seed")
    axes[0, 0].set_ylabel(f"criterion epoch (hollow: not met, drawn at {never})")
    axes[0, 0].legend(fontsize=7)
    return _save(figure, path)


def ablation(lag_values: dict, path: Path) -> Path:
    """The lag (occluded-reach criterion - looking criterion) per seed and its median, per
    condition."""
    figure, ax = plt.subplots(figsize=(4.5, 3.6))
    for k, values in enumerate(lag_values.values()):
        values = np.asarray(values, dtype=float)
        ax.bar(k, np.median(values), color="lightgrey", edgecolor="k", width=0.6)
        jitter = np.linspace(-0.2, 0.2, len(values))
        ax.scatter(k + jitter, values, color="k", s=12, zorder=3)
    ax.set_xticks(range(len(lag_values)), list(lag_values))
    ax.axhline(0, color="k", lw=0.6)
    ax.set(ylabel="lag: occluded-reach - looking criterion (epochs)",
           title="reach trained at reach steps vs every step")  # fmt: skip
    return _save(figure, path)


def hidden_pca(hidden: dict, events: list, path: Path) -> Path:
    """Member 0's hidden states on the opaque occluder-slides events at the reach step (the
    toy covered), in the two leading principal components of the last snapshot's states of
    those events: coloured by the hidden toy's position, the no-toy twins in grey. The title
    gives the mean distance between a toy event's state and its no-toy twin's."""
    rows = [n for n, e in enumerate(events) if e.kind == "occluder_slides" and e.possible
            and e.screen == "opaque"]  # fmt: skip
    toy = [n for n in rows if events[n].toy]
    index = {e: n for n, e in enumerate(events)}
    twins = [index[_without(events[n])] for n in toy]
    steps = np.array([events[n].reach_step for n in toy])
    positions = np.array([events[n].position for n in toy])
    epochs = sorted(hidden)
    last = hidden[epochs[-1]]
    pca = PCA(2).fit(np.concatenate([last[toy, steps], last[twins, steps]]))
    figure, axes = plt.subplots(1, len(epochs), figsize=(3.2 * len(epochs), 3.3), squeeze=False)
    for ax, epoch in zip(axes[0], epochs):
        states = hidden[epoch]
        a, b = states[toy, steps], states[twins, steps]  # (M, H)
        pa, pb = pca.transform(a), pca.transform(b)
        ax.scatter(pb[:, 0], pb[:, 1], color="lightgrey", s=10, label="no toy")
        points = ax.scatter(pa[:, 0], pa[:, 1], c=positions, cmap="viridis", s=12)
        distance = float(np.linalg.norm(a - b, axis=1).mean())
        ax.set(title=f"epoch {epoch}: toy vs no toy {distance:.2f}", xticks=[], yticks=[])
    axes[0, 0].set_ylabel("PC 2 (of the last epoch)")
    axes[0, 0].legend(fontsize=7)
    figure.colorbar(points, ax=axes[0, -1], label="hidden toy's position")
    return _save(figure, path)


def _without(event):
    return replace(event, toy=False)
