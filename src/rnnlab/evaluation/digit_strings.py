"""Connected digits evaluated: the digit error rate and string accuracy of greedy and prefix
beam search decoding, on the held-out speaker (the test split) and on unheard recordings of
the seen speakers (the val split); a picture of the spectrogram with the frame-wise CTC
posteriors under it; and ``rnnlab transcribe``."""

from pathlib import Path

import numpy as np
import torch

from rnnlab.evaluation.ctc import error_rates, greedy_decode, prefix_beam_search
from rnnlab.tasks.digit_strings import DigitStrings
from rnnlab.tasks.speech_features import SpeechFeatureConfig
from rnnlab.tasks.spoken_digits import read_utterance

BEAM = 8


@torch.no_grad()
def log_posteriors(network, x: torch.Tensor, lengths: torch.Tensor, batch: int = 128):
    """The frame-wise log-posteriors (T_k, C) of every sequence, in evaluation mode."""
    was_training = network.training
    network.eval()
    device = next(network.parameters()).device
    found = []
    for start in range(0, len(x), batch):
        rows = slice(start, start + batch)
        T = int(lengths[rows].max())
        outputs, _ = network(x[rows, :T].to(device), lengths=lengths[rows].to(device))
        log_probs = torch.log_softmax(outputs.double(), -1).cpu().numpy()  # (B, T, C)
        found += [lp[:n] for lp, n in zip(log_probs, lengths[rows].tolist())]
    network.train(was_training)
    return found


def decoded(task: DigitStrings, network, split: str, beam: int | None):
    """The references and hypotheses (CTC labels) of a split, greedy or with a beam."""
    data = task.splits()[split]
    posteriors = log_posteriors(network, data.x, data.lengths)
    if beam is None:
        hypotheses = [greedy_decode(p) for p in posteriors]
    else:
        hypotheses = [prefix_beam_search(p, beam)[0] for p in posteriors]
    return task.references(split), hypotheses, posteriors


def quick(task: DigitStrings, network, split: str) -> dict:
    """Greedy digit error rate and string accuracy of ``split`` (during training)."""
    references, hypotheses, _ = decoded(task, network, split, None)
    return error_rates(references, hypotheses)


def report(task: DigitStrings, network, split: str, predictions, directory: Path | None) -> dict:
    """Greedy and beam error rates on ``split``; on the seen speakers' unheard recordings (the
    val split) as ``*_seen``; the unalignable strings left out; the posteriors figure."""
    references, hypotheses, posteriors = decoded(task, network, split, None)
    result = error_rates(references, hypotheses)
    beam = [prefix_beam_search(p, BEAM)[0] for p in posteriors]
    result.update({f"{k}_beam": v for k, v in error_rates(references, beam).items()})
    if split != "val":
        seen_references, seen, _ = decoded(task, network, "val", None)
        result.update({f"{k}_seen": v for k, v in error_rates(seen_references, seen).items()})
    result.update({f"unalignable_{k}": v for k, v in task.unalignable.items()})
    result["examples"] = [
        {"source": spell(r), "translation": spell(h), "references": [spell(r)]}
        for r, h in list(zip(references, hypotheses))[:5]
    ]
    if directory is not None:
        data = task.splits()[split]
        path = plot_posteriors(data.x[:3], data.lengths[:3], posteriors[:3], references[:3],
                               Path(directory))  # fmt: skip
        result["posteriors_png"] = str(path)
    return result


def spell(labels) -> str:
    """CTC labels (digit + 1) as the digit string."""
    return "".join(str(c - 1) for c in labels)


def plot_posteriors(x, lengths, posteriors, references, directory: Path) -> Path:
    """For each of a few strings, its feature frames and the frame-wise posteriors under."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, len(posteriors), figsize=(4.5 * len(posteriors), 5),
                                squeeze=False, sharex="col")  # fmt: skip
    for k, (p, n) in enumerate(zip(posteriors, lengths.tolist())):
        axes[0, k].imshow(x[k, :n].T.numpy(), aspect="auto", origin="lower", cmap="magma")
        axes[0, k].set_title(f"reference {spell(references[k])}")
        axes[0, k].set_ylabel("feature")
        probabilities = np.exp(p)
        axes[1, k].plot(probabilities[:, 0], color="0.7", label="blank")
        for c in range(1, probabilities.shape[1]):
            axes[1, k].plot(probabilities[:, c], label=str(c - 1))
        axes[1, k].set_xlabel("frame (10 ms)")
        axes[1, k].set_ylabel("posterior")
    axes[1, -1].legend(fontsize=7, ncol=2, loc="upper right")
    figure.tight_layout()
    path = directory / "ctc_posteriors.png"
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


@torch.no_grad()
def transcribe(network, config: SpeechFeatureConfig, paths: list[str], beam: int | None = None):
    """The digit string a trained CTC network hears in each WAV file."""
    frames = [torch.from_numpy(read_utterance(path, config)) for path in paths]
    x = torch.nn.utils.rnn.pad_sequence(frames, batch_first=True)  # (B, T, F)
    lengths = torch.tensor([len(f) for f in frames])
    posteriors = log_posteriors(network, x, lengths)
    if beam is None:
        return [spell(greedy_decode(p)) for p in posteriors]
    return [spell(prefix_beam_search(p, beam)[0]) for p in posteriors]
