"""Classification evaluated: per-class scores and the confusion matrix, the n-gram baselines,
and the classes a trained network (or an ensemble) predicts for new names.
"""

from pathlib import Path

import numpy as np
import torch

from rnnlab.errors import RnnlabError
from rnnlab.models.ensemble import Ensemble, members
from rnnlab.tasks.names import Names, encode_batch, fold_to_ascii
from rnnlab.tasks.vocabulary import Vocabulary


def report(
    task: Names, network, split: str, predictions: torch.Tensor, directory: Path | None
) -> dict:
    """Per-class precision, recall, F1 and support; the confusion matrix as a PNG."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    predicted = predictions.argmax(-1).numpy()
    truth = task.split_names(split)[1]
    labels = list(range(len(task.classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    result = {
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f),
                   "support": int(s)}
            for name, p, r, f, s in zip(task.classes, precision, recall, f1, support)
        },
    }  # fmt: skip
    if directory is not None:
        matrix = confusion_matrix(truth, predicted, labels=labels)
        result["confusion_matrix_png"] = str(plot_confusion(matrix, task.classes, directory))
    return result


def baselines(task: Names, split: str) -> dict[str, dict[str, float]]:
    from rnnlab.evaluation.baselines.text_classifiers import evaluate_baselines

    train_names, train_labels = task.split_names("train")
    val_names, val_labels = task.split_names("val")
    names, labels = task.split_names(split)
    return evaluate_baselines(
        (train_names, train_labels), (val_names, val_labels), (names, labels),
        len(task.classes),
    )  # fmt: skip


def plot_confusion(matrix: np.ndarray, classes: list[str], directory: Path) -> Path:
    """The confusion matrix, each row (true class) normalised, as the tutorial draws it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axes = plt.subplots(figsize=(8, 7))
    image = axes.imshow(rows, cmap="viridis", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, label="share of the true class")
    axes.set_xticks(range(len(classes)), classes, rotation=90)
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    figure.tight_layout()
    path = Path(directory) / "confusion_matrix.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


@torch.no_grad()
def predict(
    networks, vocabulary: Vocabulary, classes: list[str], names: list[str], ascii_only: bool,
    k: int = 3,
) -> list[list[tuple[str, float]]]:  # fmt: skip
    """The ``k`` most likely classes of each name, with probabilities: of one network, or the
    mean of a list of networks' (an ensemble)."""
    networks = members(networks)
    readable = [fold_to_ascii(name) if ascii_only else name for name in names]
    for original, name in zip(names, readable):
        if not name:
            raise RnnlabError(f"name {original!r} is empty after reading it")
    x, lengths = encode_batch(vocabulary, readable)
    probabilities = Ensemble.from_members(networks).mean_probabilities(x, lengths)
    top = probabilities.topk(min(k, len(classes)), dim=-1)
    return [
        [(classes[c], float(p)) for p, c in zip(values, indices)]
        for values, indices in zip(top.values.tolist(), top.indices.tolist())
    ]
