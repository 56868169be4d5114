"""The figures of the Botvinick & Plaut (2004) replication, like the re-implementation's
(``OUTPUT/bp_errors_per_trial``, ``bp_subtasks``, ``bp_independents``); matplotlib, Agg."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from rnnlab.experiments.botvinick_plaut2004.summary import (
    REFERENCE_ERRORS,
    REFERENCE_INDEPENDENTS,
    REFERENCE_SUBTASK,
)


def _levels(table: dict, upto: float) -> list[float]:
    return [s for s in sorted(table) if s <= upto]


def draw(out: Path, mode: str, result: dict) -> list[Path]:
    """Every figure of one mode; returns the PNG paths."""
    levels = result["levels"]
    paths = []
    # errors per trial against noise, coffee and tea, with BP-impl's values
    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs = _levels(levels["coffee"], 0.4)
    width = 0.38
    for offset, task in ((-width / 2, "coffee"), (width / 2, "tea")):
        ax.bar(
            [i + offset for i in range(len(xs))],
            [levels[task][s]["errors_per_trial"] for s in xs],
            width,
            label=task,
        )
        ref = [(i + offset, REFERENCE_ERRORS[task][s]) for i, s in enumerate(xs)
               if s in REFERENCE_ERRORS[task]]  # fmt: skip
        ax.plot(*zip(*ref), "k_", markersize=10, label="BP-impl" if task == "coffee" else None)
    ax.set_xticks(range(len(xs)), [f"{s:g}" for s in xs])
    ax.set_xlabel("noise s.d.")
    ax.set_ylabel("errors per trial")
    ax.set_title(f"Errors per trial ({mode})")
    ax.legend()
    paths.append(_save(fig, out / f"errors_per_trial_{mode}.png"))
    # error types (coffee)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
    for ax, task in zip(axes, ("coffee", "tea")):
        bottom = [0.0] * len(xs)
        for kind in ("omission", "sequence", "bizarre", "other"):
            values = [levels[task][s]["figure_types"][kind] for s in xs]
            ax.bar(range(len(xs)), values, bottom=bottom, label=kind)
            bottom = [b + v for b, v in zip(bottom, values)]
        ax.set_xticks(range(len(xs)), [f"{s:g}" for s in xs], fontsize=7)
        ax.set_title(f"Error types, {task} ({mode})")
        ax.set_xlabel("noise s.d.")
    axes[0].set_ylabel("errors per trial")
    axes[0].legend(fontsize=8)
    paths.append(_save(fig, out / f"error_types_{mode}.png"))
    # subtask analysis (coffee)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    coffee = levels["coffee"]
    ax.plot(range(len(xs)), [100 * coffee[s]["subtask_level_trials"] for s in xs], "o-",
            label="subtask-level errors")  # fmt: skip
    ax.plot(range(len(xs)), [100 * coffee[s]["subtask_omission_trials"] for s in xs], "s--",
            label="subtask omissions")  # fmt: skip
    ax.plot(range(len(xs)), [100 * coffee[s]["within_subtask_trials"] for s in xs], "^-",
            label="within-subtask errors")  # fmt: skip
    ref = [(i, 100 * REFERENCE_SUBTASK[s]) for i, s in enumerate(xs) if s in REFERENCE_SUBTASK]
    ax.plot(*zip(*ref), "kx", label="BP-impl subtask-level")
    ax.set_xticks(range(len(xs)), [f"{s:g}" for s in xs])
    ax.set_xlabel("noise s.d.")
    ax.set_ylabel("% of coffee trials")
    ax.set_title(f"Subtask analysis ({mode})")
    ax.legend(fontsize=8)
    paths.append(_save(fig, out / f"subtasks_{mode}.png"))
    # ADS: independents per action, crux and non-crux errors
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ads = [s for s in sorted(coffee) if s >= 0.1]
    for task, style in (("coffee", "o-"), ("tea", "s-")):
        ax.plot(ads, [levels[task][s]["independents_per_action"] for s in ads], style,
                label=f"independents/action, {task}")  # fmt: skip
    ax.plot(ads, [coffee[s]["non_crux_errors_per_action"] for s in ads], "v:",
            label="non-crux errors/action, coffee")  # fmt: skip
    ax.plot(ads, [coffee[s]["crux_errors_per_action"] for s in ads], "^:",
            label="crux errors/action, coffee")  # fmt: skip
    ax.plot(list(REFERENCE_INDEPENDENTS), list(REFERENCE_INDEPENDENTS.values()), "kx",
            label="BP-impl independents")  # fmt: skip
    ax.set_xlabel("noise s.d.")
    ax.set_ylabel("per action")
    ax.set_title(f"ADS measures ({mode})")
    ax.legend(fontsize=7)
    paths.append(_save(fig, out / f"independents_{mode}.png"))
    # training curve
    fig, ax = plt.subplots(figsize=(6, 3.5))
    epochs, loss = zip(*result["training"]["curve"])
    ax.plot(epochs, loss)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy per sequence")
    ax.set_title(f"Training ({mode}, mean over networks)")
    paths.append(_save(fig, out / f"training_{mode}.png"))
    return paths


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
