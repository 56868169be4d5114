"""The figure of a sweep: one metric's mean ± sd over seeds, per point."""

import math
from pathlib import Path


def plot_sweep(
    values: list,
    means: list[float],
    sds: list[float | None],
    metric: str,
    path: Path,
    key: str | None = None,
) -> Path:
    """Draw ``metric``'s mean (± sd as error bars, none where one seed ran) of each point and
    save the PNG at ``path``.

    With ``key``, the sweep varies that one numeric key, ``values`` are its values and the
    means are drawn against them as a line (on a log axis when the positive values span a
    factor of 100 or more); without, ``values`` are the points' names and each point is a bar.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    errors = [math.nan if sd is None else sd for sd in sds]
    if key is not None:
        order = sorted(range(len(values)), key=lambda k: values[k])
        x = [values[k] for k in order]
        figure, axes = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
        axes.errorbar(
            x, [means[k] for k in order], yerr=[errors[k] for k in order], marker="o", capsize=3
        )
        if min(x) > 0 and max(x) / min(x) >= 100:
            axes.set_xscale("log")
        if len(x) <= 12:
            axes.set_xticks(x, [f"{v:g}" for v in x])
            axes.minorticks_off()
        axes.set_xlabel(key)
    else:
        figure, axes = plt.subplots(
            figsize=(max(4.0, 1.0 + 0.6 * len(values)), 4.5), layout="constrained"
        )
        axes.bar(range(len(values)), means, yerr=errors, capsize=3, color="0.6")
        axes.set_xticks(range(len(values)), [str(v) for v in values], rotation=40, ha="right")
        axes.tick_params(axis="x", labelsize=7)
    axes.set_ylabel(f"{metric} (mean ± sd over seeds)")
    path = Path(path)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
