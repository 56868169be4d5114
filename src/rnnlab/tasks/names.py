"""Name classification: which language a surname comes from, read one character at a time.

The task of PyTorch's tutorial "NLP From Scratch: Classifying Names with a Character-Level
RNN". The data is a directory of ``<Class>.txt`` files, one name per line, UTF-8 (the
tutorial's 18 languages: ``data/names/Arabic.txt`` ... ``Vietnamese.txt``).

Loading counts and reports what a user should know about such data: empty lines, names listed
twice under the same class (duplicates, dropped), and names listed under several classes
(kept once under each: such a name cannot be classified perfectly). With ``ascii_only`` the
names are folded to ASCII as in the tutorial (accents stripped by Unicode decomposition, then
only ASCII letters and `` .,;'`` kept). The (name, class) pairs are then split, stratified by
class and seeded, into train / val / test, and the character vocabulary is built from the
training names only (a character never seen in training reads as the unknown symbol).

The network reads each name's characters (one-hot or embedded) and classifies it from its
final state; batches of names of different lengths are padded and carry their ``lengths``, so
the padding never reaches the output. Metrics: ``accuracy`` and ``macro_f1`` at every
validation; ``rnnlab evaluate`` adds per-class precision and recall, a confusion-matrix PNG and
the n-gram baselines on the same split (:mod:`rnnlab.evaluation.classification`).
"""

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from string import ascii_letters
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch.nn.utils.rnn import pad_sequence

from rnnlab.errors import RnnlabError
from rnnlab.tasks.base import Split, Task, seed_field
from rnnlab.tasks.files import read_text, require_directory, require_file
from rnnlab.tasks.vocabulary import Vocabulary

ASCII_SYMBOLS = set(ascii_letters + " .,;'")


def fold_to_ascii(name: str) -> str:
    """``name`` without accents and with only ASCII letters and `` .,;'`` (the tutorial's)."""
    decomposed = unicodedata.normalize("NFD", name)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn" and c in ASCII_SYMBOLS)


@dataclass
class NamesData:
    """The de-duplicated (name, class) pairs of a names directory, and what loading found."""

    classes: list[str]  # sorted file stems
    names: list[str]
    labels: np.ndarray  # (N,) class index of each name
    lines: int = 0  # lines read, empty ones included
    lines_per_class: dict[str, int] = field(default_factory=dict)
    empty_lines: int = 0
    duplicates: int = 0  # (name, class) pairs seen before, dropped
    folded: int = 0  # names changed by ascii_only
    multi_class_names: dict[str, list[str]] = field(default_factory=dict)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return dict(zip(self.classes, counts.tolist()))

    def summary(self) -> str:
        """What loading found, in a few lines for a person."""
        return (
            f"{self.lines} lines in {len(self.classes)} classes: {len(self.names)} distinct "
            f"(name, class) pairs, {self.duplicates} duplicates dropped, {self.empty_lines} "
            f"empty lines, {len(self.multi_class_names)} names under several classes"
            + (f", {self.folded} names folded to ASCII" if self.folded else "")
        )


def load_names(path: str | Path, ascii_only: bool = False) -> NamesData:
    """Read every ``<Class>.txt`` in the directory ``path``; see the module docstring."""
    path = require_directory(path, "names directory")
    files = sorted(path.glob("*.txt"))
    if not files:
        raise RnnlabError(f"{path} holds no <Class>.txt files")
    data = NamesData(classes=[f.stem for f in files], names=[], labels=np.zeros(0, np.int64))
    seen: dict[str, list[str]] = {}
    labels = []
    for label, file in enumerate(files):
        lines = read_text(require_file(file, "names file")).splitlines()
        data.lines_per_class[file.stem] = len(lines)
        for line in lines:
            data.lines += 1
            name = line.strip()
            if ascii_only:
                folded = fold_to_ascii(name)
                data.folded += folded != name
                name = folded.strip()
            if not name:
                data.empty_lines += 1
                continue
            classes = seen.setdefault(name, [])
            if file.stem in classes:
                data.duplicates += 1
                continue
            classes.append(file.stem)
            data.names.append(name)
            labels.append(label)
    data.labels = np.array(labels, dtype=np.int64)
    data.multi_class_names = {name: c for name, c in seen.items() if len(c) > 1}
    return data


def stratified_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Indices of a seeded train / val / test split with each class's share in every part."""
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    rest, test = train_test_split(
        indices, test_size=test_fraction, stratify=labels, random_state=seed
    )
    train, val = train_test_split(
        rest, test_size=val_fraction / (1 - test_fraction), stratify=labels[rest],
        random_state=seed,
    )  # fmt: skip
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def encode_batch(vocabulary: Vocabulary, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (N, T) padded with 0, and lengths (N,), of ``names``."""
    lengths = torch.tensor([len(name) for name in names], dtype=torch.long)
    x = pad_sequence([vocabulary.encode(name) for name in names], batch_first=True)
    return x, lengths


class NamesConfig(BaseModel):
    """``[task]`` of name classification."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["names"] = "names"
    path: str = Field(description="directory of <Class>.txt files, one name per line")
    ascii_only: bool = Field(False, description="fold names to ASCII, as the PyTorch tutorial")
    val_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of pairs for validation")
    test_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of pairs for testing")
    class_weighting: Literal["none", "balanced", "sqrt"] = Field(
        "none",
        description="'balanced' weighs each class's loss by N / (classes * count), 'sqrt' by "
        "its square root",
    )
    seed: int = seed_field("seed of the split; the training seed is separate")


class Names(Task):
    """Classify surnames by language; see the module docstring."""

    name = "names"
    description = "classify surnames by language from a directory of <Class>.txt (the tutorial)"
    stream = False
    inputs = "tokens"
    targets = "per_sequence"
    loss = "cross_entropy"

    def __init__(self, config: NamesConfig) -> None:
        self.config = config
        self.data = load_names(config.path, config.ascii_only)
        self.classes = self.data.classes
        try:
            self.indices = stratified_split(
                self.data.labels, config.val_fraction, config.test_fraction, config.seed
            )
        except ValueError as error:  # scikit-learn's: too few names, or a class of one
            raise RnnlabError(
                f"{config.path}: {len(self.data.names)} names in {len(self.classes)} classes "
                f"cannot be split into train, val ({config.val_fraction}) and test "
                f"({config.test_fraction}) with each class in every part: {error}"
            ) from None
        self.vocabulary = Vocabulary.from_texts(self.data.names[k] for k in self.indices["train"])
        self.input_size = len(self.vocabulary)
        self.output_size = len(self.classes)
        if config.class_weighting != "none":
            train_labels = self.data.labels[self.indices["train"]]
            counts = np.bincount(train_labels, minlength=len(self.classes))
            weights = len(train_labels) / (len(self.classes) * np.maximum(counts, 1))
            if config.class_weighting == "sqrt":
                weights = np.sqrt(weights)
            self.class_weights = torch.tensor(weights, dtype=torch.float32)

    def split_names(self, split: str) -> tuple[list[str], np.ndarray]:
        """The names and class indices of one split."""
        rows = self.indices[split]
        return [self.data.names[k] for k in rows], self.data.labels[rows]

    def splits(self) -> dict[str, Split]:
        result = {}
        for split in ("train", "val", "test"):
            names, labels = self.split_names(split)
            x, lengths = encode_batch(self.vocabulary, names)
            result[split] = Split(x=x, y=torch.from_numpy(labels), lengths=lengths)
        return result

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        return scores(split.y.numpy(), predictions.argmax(-1).numpy(), len(self.classes))

    def save(self, directory: Path) -> None:
        self.vocabulary.save(
            Path(directory) / "vocab.json", classes=self.classes, ascii_only=self.config.ascii_only
        )


def scores(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> dict[str, float]:
    """``accuracy`` and ``macro_f1`` of predicted class indices."""
    from sklearn.metrics import f1_score

    return {
        "accuracy": float((truth == predicted).mean()),
        "macro_f1": float(f1_score(truth, predicted, labels=list(range(num_classes)),
                                   average="macro", zero_division=0)),
    }  # fmt: skip
