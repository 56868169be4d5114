"""Character-level language modelling of a plain-text corpus (char-rnn, d2l chapter 9).

The network reads the text one character at a time and predicts the next. The text is split
in order: the head for training and the held-out tail (``val_fraction``) for validation, so the
validation text continues the story rather than repeating it; with ``test_fraction`` > 0 a
further tail is kept for testing, otherwise the test split *is* the validation split. Training
cuts the training text into ``batch_size`` parallel streams read with truncated BPTT, the state
carried from chunk to chunk (stateful batches). Characters are token ids of a vocabulary built
from the training text (see :mod:`rnnlab.tasks.vocabulary`), saved with the run.

Metrics: ``loss_nats`` (mean negative log-likelihood per character, in nats), ``bpc`` (the
same in bits) and ``perplexity`` (e to the loss). ``rnnlab evaluate`` also reports the baseline
a user would try first: an interpolated Kneser-Ney character n-gram whose order (up to 7) is
chosen on the validation text (:mod:`rnnlab.evaluation.language_model`).
"""

import math
from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.errors import RnnlabError
from rnnlab.tasks.base import Split, Task, next_step_split
from rnnlab.tasks.files import read_text, require_file
from rnnlab.tasks.vocabulary import Vocabulary


def load_text(path: str | Path) -> str:
    """The text of a UTF-8 file, its line endings read as ``\n``; a clear error if it is
    missing or not text."""
    return read_text(require_file(path, "text file"))


class CharLMConfig(BaseModel):
    """``[task]`` of character language modelling."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["char_lm"] = "char_lm"
    path: str = Field(description="a UTF-8 text file")
    val_fraction: float = Field(0.1, gt=0, lt=0.5, description="held-out tail for validation")
    test_fraction: float = Field(
        0.0, ge=0, lt=0.5, description="a further tail for testing (0: test on the validation)"
    )


def nats_metrics(loss_nats: float) -> dict[str, float]:
    """A loss in nats per character as ``loss_nats``, ``bpc`` and ``perplexity``."""
    return {
        "loss_nats": loss_nats,
        "bpc": loss_nats / math.log(2),
        "perplexity": math.exp(loss_nats),
    }


class CharLM(Task):
    """Next-character prediction over a text file; see the module docstring."""

    name = "char_lm"
    description = "character language model of a text file (char-rnn), with generation"
    stream = True
    inputs = "tokens"
    autoregressive = True
    loss = "cross_entropy"

    def __init__(self, config: CharLMConfig) -> None:
        self.config = config
        text = load_text(config.path)
        val_start = round(len(text) * (1 - config.val_fraction - config.test_fraction))
        test_start = round(len(text) * (1 - config.test_fraction))
        self.texts = {"train": text[:val_start], "val": text[val_start:test_start]}
        self.texts["test"] = text[test_start:] if config.test_fraction > 0 else self.texts["val"]
        for split, part in self.texts.items():
            if len(part) < 2:
                raise RnnlabError(
                    f"{config.path}: the {split} part holds {len(part)} characters; the text is "
                    f"too short for these fractions"
                )
        self.vocabulary = Vocabulary.from_texts([self.texts["train"]])
        self.input_size = self.output_size = len(self.vocabulary)

    def splits(self) -> dict[str, Split]:
        return {
            split: next_step_split(self.vocabulary.encode(text))
            for split, text in self.texts.items()
        }

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        chosen = predictions.gather(-1, split.y[..., None])  # (1, T, 1)
        return nats_metrics(float(-chosen.clamp_min(1e-30).log().mean()))

    def save(self, directory: Path) -> None:
        self.vocabulary.save(Path(directory) / "vocab.json")
