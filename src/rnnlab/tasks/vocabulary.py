"""A character vocabulary: symbols to token ids and back, with padding and an unknown symbol.

Id 0 is padding (it fills the ends of short sequences in a batch and never reaches a loss),
id 1 the unknown symbol (any character not seen when the vocabulary was built), then the
characters in code-point order. A vocabulary is saved with a run as ``vocab.json``, so that
``rnnlab predict`` and ``rnnlab generate`` read text exactly as the network was trained to.
"""

import json
from collections.abc import Iterable
from pathlib import Path

import torch

from rnnlab.errors import RnnlabError
from rnnlab.tasks.files import read_text, require_file

PAD = "<pad>"
UNKNOWN = "<unk>"


class Vocabulary:
    """Characters and their ids; see the module docstring."""

    def __init__(self, symbols: Iterable[str]) -> None:
        self.symbols = [PAD, UNKNOWN, *sorted(set(symbols) - {PAD, UNKNOWN})]
        self.ids = {symbol: k for k, symbol in enumerate(self.symbols)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> "Vocabulary":
        """The characters that occur in ``texts``."""
        characters: set[str] = set()
        for text in texts:
            characters.update(text)
        return cls(characters)

    def __len__(self) -> int:
        return len(self.symbols)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.symbols == other.symbols

    def encode(self, text: str) -> torch.Tensor:
        """Token ids (len(text),) of ``text``; unseen characters become the unknown id."""
        unknown = self.ids[UNKNOWN]
        return torch.tensor([self.ids.get(c, unknown) for c in text], dtype=torch.long)

    def decode(self, ids: Iterable[int]) -> str:
        """The text of token ids; padding is dropped and unknowns show as U+FFFD."""
        return "".join(
            "\ufffd" if k == 1 else self.symbols[k] for k in (int(k) for k in ids) if k != 0
        )

    def unknown_count(self, text: str) -> int:
        """How many characters of ``text`` this vocabulary does not know."""
        return sum(c not in self.ids for c in text)

    def save(self, path: Path, **extra) -> None:
        """Write the vocabulary (and ``extra`` JSON entries, such as class names) to ``path``."""
        Path(path).write_text(
            json.dumps({"symbols": self.symbols, **extra}, ensure_ascii=False, indent=1),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, path: Path) -> tuple["Vocabulary", dict]:
        """The vocabulary saved at ``path`` and the extra entries saved with it."""
        path = Path(path)
        missing = f"{path} is missing: this run has no saved vocabulary"
        text = read_text(require_file(path, "vocabulary file", missing=missing))
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise RnnlabError(f"{path} is not a vocabulary file (damaged?)") from None
        if not (isinstance(data, dict) and "symbols" in data):
            raise RnnlabError(f"{path} is not a vocabulary file (damaged?): no symbols")
        symbols = data.pop("symbols")
        if not (isinstance(symbols, list) and all(isinstance(s, str) for s in symbols)):
            raise RnnlabError(f"{path}: symbols must be a list of strings (damaged?)")
        if symbols[:2] != [PAD, UNKNOWN]:
            raise RnnlabError(f"{path}: a vocabulary starts with {PAD}, {UNKNOWN}")
        return cls(symbols[2:]), data
