"""Machine translation of sentence pairs with an encoder-decoder (d2l chapter 10).

Data: a tab-separated file of (source, target) sentence pairs, one per line, further columns
ignored (``eng-fra.txt``: English, French, the Tatoeba attribution), or the English-French
messages of the gettext catalogues installed on the machine
(:mod:`rnnlab.tasks.gettext_corpus`). Sentences are normalised as d2l does (:func:`normalise`:
non-breaking spaces become spaces, lowercase, punctuation split off as its own token) and split
on whitespace; pairs with a side longer than ``max_length`` tokens are dropped (counted).

Split **by source sentence**: many English sentences have several French translations, and a
random split of pairs would put the same English sentence in training and test (69 % of test
sources on eng-fra.txt), so test BLEU would measure memory. Here the distinct source sentences
are shuffled (seeded) and cut into train / val / test, and every pair goes with its source; a
translation is scored against *all* references of its source.

The vocabularies (``min_freq`` occurrences in the training pairs, else ``<unk>``) are built
from the training split only and saved with the run (``vocab.json``).

Every split holds x (N, T) source ids ending in ``<eos>`` with ``lengths`` the source lengths,
y (N, T) target ids ending in ``<eos>``, and ``mask`` marking the target tokens; T is the
longer side, both padded with ``<pad>``. Validation reports the teacher-forced loss and the
greedy BLEU of (up to ``eval_sources``) validation sources; ``rnnlab evaluate`` reports
``bleu`` (beam search, ``beam_size`` and ``length_alpha``), ``bleu_greedy``, ``bleu_beam``,
d2l's BLEU-2 and an attention heat map (both in :mod:`rnnlab.evaluation.translation`).
"""

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch.nn.utils.rnn import pad_sequence

from rnnlab.errors import RnnlabError
from rnnlab.tasks.base import Split, Task, seed_field
from rnnlab.tasks.files import read_text, require_file
from rnnlab.tasks.word_vocabulary import PAD_ID, WordVocabulary

_PUNCTUATION = re.compile(r"(?<=\S)([,.!?;:])")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """d2l's normalisation: non-breaking spaces to spaces, lowercase, a space before
    ``, . ! ? ; :`` when a word precedes it, whitespace collapsed; and (beyond d2l) the
    typographic apostrophe ’ written as ', so "l’ai" and "l'ai" are one word."""
    text = text.replace("\u202f", " ").replace("\xa0", " ").replace("’", "'").lower()
    return _SPACES.sub(" ", _PUNCTUATION.sub(r" \1", text)).strip()


def tokenise(text: str) -> list[str]:
    """The tokens of a normalised sentence."""
    return normalise(text).split()


def load_pairs(path: str | Path) -> list[tuple[str, str]]:
    """The (source, target) pairs of a tab-separated UTF-8 file; empty lines skipped."""
    path = require_file(path, "sentence-pair file")
    pairs = []
    lines = read_text(path).splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < 2 or not columns[0].strip() or not columns[1].strip():
            raise RnnlabError(
                f"{path}:{number}: expected 'source<TAB>target[<TAB>...]'; got {line[:60]!r}"
            )
        pairs.append((columns[0], columns[1]))
    if not pairs:
        raise RnnlabError(f"{path} has no sentence pairs")
    return pairs


def split_by_source(
    sources: list[str], val_fraction: float, test_fraction: float, seed: int
) -> dict[str, set[str]]:
    """The distinct ``sources`` shuffled (seeded) and cut into train / val / test sets."""
    distinct = sorted(set(sources))
    order = np.random.default_rng(seed).permutation(len(distinct))
    n_test = round(test_fraction * len(distinct))
    n_val = round(val_fraction * len(distinct))
    if len(distinct) - n_test - n_val < 1 or n_val < 1 or n_test < 1:
        raise RnnlabError(
            f"{len(distinct)} distinct source sentences cannot be split into train, val "
            f"({val_fraction}) and test ({test_fraction}) with at least one in each"
        )
    chosen = [distinct[k] for k in order]
    return {
        "test": set(chosen[:n_test]),
        "val": set(chosen[n_test : n_test + n_val]),
        "train": set(chosen[n_test + n_val :]),
    }


class TranslationConfig(BaseModel):
    """``[task]`` of translation: one of ``path`` or ``gettext_dir``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["translation"] = "translation"
    path: str | None = Field(None, description="tab-separated sentence pairs: source, target")
    gettext_dir: str | None = Field(
        None, description="a locale directory (/usr/share/locale): its gettext messages"
    )
    language: str = Field("fr", description="gettext_dir: the target language's catalogues")
    gettext_exclude: list[str] = Field(
        ["iso_"], description="gettext_dir: skip catalogues whose name starts with these"
    )
    max_length: int = Field(30, ge=1, description="longest side, in tokens; longer pairs dropped")
    min_freq: int = Field(2, ge=1, description="training occurrences for a word to get an id")
    val_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of source sentences")
    test_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of source sentences")
    seed: int = seed_field("seed of the split; the training seed is separate")
    beam_size: int = Field(4, ge=1, description="evaluate: beam width (1 = greedy)")
    length_alpha: float = Field(0.75, ge=0, description="evaluate: score log P / length**alpha")
    eval_sources: int | None = Field(
        500, ge=1, description="validation: BLEU of this many sources (None: all)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> "TranslationConfig":
        if (self.path is None) == (self.gettext_dir is None):
            raise ValueError("give exactly one of path (a TSV of pairs) or gettext_dir")
        return self


class Translation(Task):
    """Translate sentences; see the module docstring."""

    name = "translation"
    description = "translate sentence pairs (eng-fra.txt, or gettext messages) with seq2seq"
    stream = False
    inputs = "tokens"
    targets = "sequence"
    loss = "cross_entropy"

    def __init__(self, config: TranslationConfig) -> None:
        self.config = config
        self.manifest = None
        if config.path is not None:
            raw = load_pairs(config.path)
        else:
            from rnnlab.tasks.gettext_corpus import read_gettext_corpus

            try:
                corpus = read_gettext_corpus(
                    config.gettext_dir, config.language, exclude=tuple(config.gettext_exclude)
                )
            except ValueError as error:
                raise RnnlabError(str(error)) from None
            raw = corpus.pairs
            self.manifest = {
                "locale_dir": corpus.locale_dir, "language": corpus.language,
                "pairs": len(corpus.pairs), "packages": corpus.packages,
                "dropped": corpus.dropped,
            }  # fmt: skip
        pairs, seen = [], set()
        self.dropped = {"too_long": 0, "duplicate": 0}
        for source, target in raw:
            pair = (tuple(tokenise(source)), tuple(tokenise(target)))
            if not pair[0] or not pair[1] or max(map(len, pair)) > config.max_length:
                self.dropped["too_long"] += 1
            elif pair in seen:
                self.dropped["duplicate"] += 1
            else:
                seen.add(pair)
                pairs.append(pair)
        if not pairs:
            raise RnnlabError(f"no sentence pair has both sides within {config.max_length} tokens")
        parts = split_by_source(
            [" ".join(s) for s, _ in pairs], config.val_fraction, config.test_fraction,
            config.seed,
        )  # fmt: skip
        self.pairs = {
            name: [p for p in pairs if " ".join(p[0]) in members] for name, members in parts.items()
        }
        train = self.pairs["train"]
        self.source_vocabulary = WordVocabulary.from_sentences(
            (s for s, _ in train), config.min_freq
        )
        self.target_vocabulary = WordVocabulary.from_sentences(
            (t for _, t in train), config.min_freq
        )
        self.input_size = len(self.source_vocabulary)
        self.output_size = len(self.target_vocabulary)

    def references(self, split: str) -> tuple[list[tuple[str, ...]], list[list[tuple[str, ...]]]]:
        """The distinct sources of ``split`` (in order of first appearance) and each one's
        references."""
        grouped: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
        for source, target in self.pairs[split]:
            grouped[source].append(target)
        return list(grouped), list(grouped.values())

    def splits(self) -> dict[str, Split]:
        return {name: self._encode(pairs) for name, pairs in self.pairs.items()}

    def _encode(self, pairs) -> Split:
        sources = [self.source_vocabulary.encode(s) for s, _ in pairs]
        targets = [self.target_vocabulary.encode(t) for _, t in pairs]
        # Padded together, so that both sides have the same T, the longer side's.
        padded = pad_sequence(sources + targets, batch_first=True, padding_value=PAD_ID)
        x, y = padded[: len(pairs)], padded[len(pairs) :]
        lengths = torch.tensor([len(s) for s in sources])
        return Split(x=x, y=y, mask=y != PAD_ID, lengths=lengths)

    def encode_sources(self, sources) -> tuple[torch.Tensor, torch.Tensor]:
        """Source token lists as padded ids (B, S) and their lengths (B,)."""
        encoded = [self.source_vocabulary.encode(s) for s in sources]
        x = pad_sequence(encoded, batch_first=True, padding_value=PAD_ID)
        return x, torch.tensor([len(ids) for ids in encoded])

    def target_text(self, ids) -> str:
        return " ".join(self.target_vocabulary.decode(ids))

    def save(self, directory: Path) -> None:
        data = {
            "source": self.source_vocabulary.to_list(),
            "target": self.target_vocabulary.to_list(),
            "max_length": self.config.max_length,
        }
        Path(directory, "vocab.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        if self.manifest is not None:
            Path(directory, "corpus.json").write_text(
                json.dumps(self.manifest, ensure_ascii=False, indent=1), encoding="utf-8"
            )
