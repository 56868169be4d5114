"""Isolated spoken digits evaluated: accuracy per speaker and per digit, the confusion matrix,
the HMM and DTW baselines on the same split, and the digits a trained network hears in new
WAV files (``rnnlab predict``)."""

from pathlib import Path

import numpy as np
import torch

from rnnlab.evaluation.classification import plot_confusion
from rnnlab.models.ensemble import Ensemble, members
from rnnlab.tasks.speech_features import SpeechFeatureConfig
from rnnlab.tasks.spoken_digits import DIGITS, SpokenDigits, read_utterance


def report(
    task: SpokenDigits, network, split: str, predictions: torch.Tensor, directory: Path | None
) -> dict:
    """Accuracy per speaker and per digit; the confusion matrix as a PNG."""
    from sklearn.metrics import confusion_matrix

    utterances = task.utterances[split]
    truth = utterances.labels
    predicted = predictions.argmax(-1).numpy()
    speakers = np.array(utterances.speakers)
    result = {
        "per_speaker": {
            s: {"accuracy": float((predicted == truth)[speakers == s].mean()),
                "n": int((speakers == s).sum())}
            for s in sorted(set(speakers))
        },
        "per_digit": {
            d: {"accuracy": float((predicted == truth)[truth == k].mean()),
                "n": int((truth == k).sum())}
            for k, d in enumerate(DIGITS) if (truth == k).any()
        },
    }  # fmt: skip
    matrix = confusion_matrix(truth, predicted, labels=list(range(len(DIGITS))))
    result["confusion_matrix"] = matrix.tolist()
    if directory is not None:
        result["confusion_matrix_png"] = str(plot_confusion(matrix, DIGITS, directory))
    return result


def baselines(task: SpokenDigits, split: str) -> dict[str, dict[str, float]]:
    """A Gaussian HMM per digit and DTW 1-NN, trained on the training split (without the
    augmented copies), tested on ``split``."""
    from rnnlab.evaluation.baselines.speech import evaluate_speech_baselines

    train, test = task.utterances["train"], task.utterances[split]
    return evaluate_speech_baselines(
        (train.frames, train.labels), (test.frames, test.labels), seed=task.config.seed
    )


@torch.no_grad()
def predict(
    networks, config: SpeechFeatureConfig, paths: list[str], k: int = 3
) -> list[list[tuple[str, float]]]:
    """The ``k`` most likely digits of each WAV file, with probabilities: of one network, or
    the mean of several (an ensemble)."""
    frames = [torch.from_numpy(read_utterance(path, config)) for path in paths]
    x = torch.nn.utils.rnn.pad_sequence(frames, batch_first=True)  # (B, T, F)
    lengths = torch.tensor([len(f) for f in frames])
    probabilities = Ensemble.from_members(members(networks)).mean_probabilities(x, lengths)
    top = probabilities.topk(min(k, len(DIGITS)), dim=-1)
    return [
        [(DIGITS[c], float(p)) for p, c in zip(values, indices)]
        for values, indices in zip(top.values.tolist(), top.indices.tolist())
    ]
