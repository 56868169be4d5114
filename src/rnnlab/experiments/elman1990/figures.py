"""The figures of the Elman (1990) replication, drawn like the paper's (matplotlib, Agg)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.cluster.hierarchy import dendrogram, linkage

COLOURS = {"faithful": "tab:blue", "modern": "tab:orange"}


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def xor_fold(data: dict, path: Path) -> Path:
    """Fig. 3: mean squared error at each position of a 12-step cycle."""
    figure, axes = plt.subplots(figsize=(6, 3.2))
    for mode, d in data.items():
        axes.plot(range(12), d["cycle"], "o-", color=COLOURS[mode], label=f"rnnlab {mode}")
    xor_positions = [2, 5, 8, 11]
    axes.scatter(xor_positions, [0.17] * 4, marker="_", s=300, color="k", label="Elman: XOR bit")
    axes.axhline(0.31, color="k", lw=0.8, ls=":", label="Elman: other bits (about 0.31)")
    axes.set(xlabel="position in 12-step cycle (XOR bit at 2, 5, 8, 11)",
             ylabel="mean squared error", ylim=(0, 0.4), title="Temporal XOR (Fig. 3)")  # fmt: skip
    axes.legend(fontsize=7)
    return _save(figure, path)


def letter_errors(data: dict, path: Path) -> Path:
    """Fig. 4: Euclidean error per target letter over a stretch of the test stream."""
    figure, axes = plt.subplots(figsize=(7, 3.2))
    for mode, d in data.items():
        axes.plot(d["error"], "o-", ms=3, color=COLOURS[mode], label=f"rnnlab {mode}")
    letters = next(iter(data.values()))["letters"]
    axes.set_xticks(range(len(letters)), letters)
    axes.axhline(0.47, color="k", ls=":", lw=0.8, label="ideal at b (0.47)")
    axes.axhline(0.75, color="k", ls="--", lw=0.8, label="ideal at d, g (0.75)")
    axes.set(ylabel="error (Euclidean)", title="Letter prediction (Fig. 4)", ylim=(0, 1))
    axes.legend(fontsize=7)
    return _save(figure, path)


def letter_bits(data: dict, path: Path) -> Path:
    """Fig. 5: error on the Consonant bit (a) and the High bit (b)."""
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 4.5), sharex=True)
    for mode, d in data.items():
        top.plot(d["consonant_bit"], "o-", ms=3, color=COLOURS[mode], label=f"rnnlab {mode}")
        bottom.plot(d["high_bit"], "o-", ms=3, color=COLOURS[mode], label=f"rnnlab {mode}")
    letters = next(iter(data.values()))["letters"]
    bottom.set_xticks(range(len(letters)), letters)
    top.set(ylabel="|error|", title="(a) Consonant bit (Fig. 5a)", ylim=(0, 1))
    bottom.set(ylabel="|error|", title="(b) High bit (Fig. 5b)", ylim=(0, 1))
    top.legend(fontsize=7)
    return _save(figure, path)


def trajectory(points, labels, explained, title: str, path: Path) -> Path:
    """Hidden states along a stretch of input, on their first two principal components."""
    points = np.asarray(points)
    figure, axes = plt.subplots(figsize=(5, 4))
    axes.plot(points[:, 0], points[:, 1], "-", color="0.7", lw=0.8)
    for (x, y), label in zip(points, labels):
        axes.annotate(label, (x, y), fontsize=7)
    axes.scatter(points[:, 0], points[:, 1], s=8)
    axes.set(xlabel=f"PC 1 ({100 * explained[0]:.0f} %)", title=title,
             ylabel=f"PC 2 ({100 * explained[1]:.0f} %)")  # fmt: skip
    return _save(figure, path)


def word_errors(data: dict, path: Path) -> Path:
    """Fig. 6: error per letter of the test passage; word onsets marked."""
    figure, axes = plt.subplots(figsize=(9, 3.2))
    for mode, d in data.items():
        axes.plot(range(1, len(d["error"])), d["error"][1:], "o-", ms=3, color=COLOURS[mode],
                  label=f"rnnlab {mode}")  # fmt: skip
    d = next(iter(data.values()))
    for onset in d["onsets"]:
        axes.axvline(onset, color="0.85", lw=3, zorder=0)
    axes.set_xticks(range(1, len(d["passage"])), list(d["passage"][1:]), fontsize=7)
    axes.set(ylabel="sum squared error", title="Word boundaries (Fig. 6): grey = word onset")
    axes.legend(fontsize=7)
    return _save(figure, path)


def tree(words, vectors, title: str, path: Path) -> Path:
    """Figs. 7 and 8: average-linkage dendrogram of mean hidden vectors."""
    figure, axes = plt.subplots(figsize=(5, 6.5))
    dendrogram(linkage(np.asarray(vectors), "average"), labels=list(words), orientation="left",
               ax=axes, color_threshold=0)  # fmt: skip
    axes.set(title=title, xlabel="distance")
    return _save(figure, path)
