"""The attention heat map of one translation: which source words each target word read."""

from pathlib import Path

import torch


def plot_attention(weights: torch.Tensor, source: list[str], target: list[str], path: Path) -> Path:
    """Draw ``weights`` (target steps, source positions), one row per target token, and save
    it as a PNG at ``path``. Rows and columns are labelled with the tokens."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weights = weights[: len(target), : len(source)].numpy()
    figure, axes = plt.subplots(
        figsize=(1.0 + 0.45 * len(source), 1.0 + 0.4 * len(target)), layout="constrained"
    )
    image = axes.imshow(weights, cmap="Greys", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, label="attention weight", shrink=0.8)
    axes.set_xticks(range(len(source)), source, rotation=60, ha="right")
    axes.set_yticks(range(len(target)), target)
    axes.set_xlabel("source")
    axes.set_ylabel("translation")
    path = Path(path)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
