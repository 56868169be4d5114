"""The replication's figures: psychometric curves (random dots, and per context), the choice
slopes per context, and the training curves."""

from pathlib import Path

import numpy as np

from rnnlab.tasks.context_decision import CONTEXTS


def draw(out: Path, fits: list, regressions: list[dict], decision: list[dict],
         context: list[dict]) -> list[Path]:  # fmt: skip
    """Write the figures into ``out``; returns their paths. ``fits``: each seed's random-dots
    :class:`~rnnlab.analysis.psychometrics.PsychometricFit`; ``regressions``: each seed's
    context -> (ChoiceRegression, {"motion": fit, "colour": fit})."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    paths = []

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    for k, fit in enumerate(fits):
        fit.plot(left, label=f"seed {k}", color=colors[k % len(colors)])
        levels = [float(level) for level in decision[k]["by_strength"]]
        accuracy = [v["accuracy"] for v in decision[k]["by_strength"].values()]
        right.plot(levels, accuracy, "o-", color=colors[k % len(colors)])
    left.set(xlabel="signed coherence (%)", title="Random dots: psychometric curve")
    left.legend(fontsize=7)
    right.axhline(0.95, ls=":", color="k", lw=0.8)
    right.axhline(0.75, ls=":", color="k", lw=0.8)
    right.set(xscale="log", xlabel="coherence (%)", ylabel="P(correct)", ylim=(0.45, 1.02),
              title="Random dots: accuracy")  # fmt: skip
    figure.tight_layout()
    paths.append(out / "psychometric.png")
    figure.savefig(paths[-1], dpi=110)
    plt.close(figure)

    figure, axes = plt.subplots(2, 2, figsize=(8, 6), sharey=True)
    for row, name in enumerate(CONTEXTS):
        for col, stimulus in enumerate(CONTEXTS):
            axis = axes[row][col]
            for k, seed in enumerate(regressions):
                seed[name][1][stimulus].plot(axis, color=colors[k % len(colors)])
            role = "relevant" if stimulus == name else "irrelevant"
            axis.set(xlabel=f"{stimulus} coherence (%)", title=f"{name} context: {role}")
    figure.suptitle("Context-dependent integration: P(choice 1)")
    figure.tight_layout()
    paths.append(out / "context_psychometric.png")
    figure.savefig(paths[-1], dpi=110)
    plt.close(figure)

    figure, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
    for axis, name in zip(axes, CONTEXTS):
        slopes = np.array([[c["contexts"][name]["regression"]["coefficients"][s]
                            for s in CONTEXTS] for c in context])  # (seeds, 2)  # fmt: skip
        axis.bar(list(CONTEXTS), slopes.mean(axis=0), color=["tab:blue", "tab:orange"],
                 alpha=0.6)  # fmt: skip
        for k in range(len(slopes)):
            axis.plot(list(CONTEXTS), slopes[k], "k.", ms=5)
        axis.axhline(0, color="k", lw=0.5)
        axis.set(title=f"{name} context", xlabel="evidence")
    axes[0].set_ylabel("choice slope (log odds per % coherence)")
    figure.suptitle("Choice regression on relevant and irrelevant evidence")
    figure.tight_layout()
    paths.append(out / "choice_slopes.png")
    figure.savefig(paths[-1], dpi=110)
    plt.close(figure)

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for axis, (title, runs) in zip(axes, (("Random dots", decision), ("Context", context))):
        for k, r in enumerate(runs):
            curve = np.array(r["training"]["curve"])
            if len(curve):
                axis.plot(curve[:, 0], curve[:, 1], color=colors[k % len(colors)], lw=1)
        axis.set(xlabel="update", ylabel="validation accuracy", title=title, ylim=(0.4, 1.0))
    figure.tight_layout()
    paths.append(out / "training.png")
    figure.savefig(paths[-1], dpi=110)
    plt.close(figure)
    return paths
