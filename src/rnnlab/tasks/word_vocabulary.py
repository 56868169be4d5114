"""A word vocabulary for sequence-to-sequence models: tokens to ids, with the four specials.

Ids 0-3 are ``<pad>`` (fills the ends of short sequences, never in a loss), ``<bos>`` (the
decoder's first input), ``<eos>`` (ends every sentence, on both sides) and ``<unk>`` (a word
seen fewer than ``min_freq`` times in the training sentences, or never). Then the words, most
frequent first, ties in alphabetical order, so the same sentences always give the same ids.
Saved with a run (``vocab.json`` holds the source and target vocabularies), so that
``rnnlab translate`` reads sentences exactly as the network was trained to.
"""

from collections import Counter
from collections.abc import Iterable, Sequence

import torch

from rnnlab.errors import RnnlabError

PAD, BOS, EOS, UNKNOWN = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNKNOWN)
PAD_ID, BOS_ID, EOS_ID, UNKNOWN_ID = range(4)


class WordVocabulary:
    """Words and their ids; see the module docstring."""

    def __init__(self, words: Iterable[str]) -> None:
        words = [w for w in words if w not in SPECIALS]
        if len(set(words)) != len(words):
            raise ValueError("a vocabulary lists each word once")
        self.words = [*SPECIALS, *words]
        self.ids = {word: k for k, word in enumerate(self.words)}

    @classmethod
    def from_sentences(
        cls, sentences: Iterable[Sequence[str]], min_freq: int = 1
    ) -> "WordVocabulary":
        """The words of tokenised ``sentences`` seen at least ``min_freq`` times."""
        counts = Counter(word for sentence in sentences for word in sentence)
        kept = sorted(
            (w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w)
        )
        return cls(kept)

    def __len__(self) -> int:
        return len(self.words)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WordVocabulary) and self.words == other.words

    def encode(self, tokens: Sequence[str], eos: bool = True) -> torch.Tensor:
        """Ids of ``tokens`` (unknown words become ``<unk>``), ending in ``<eos>`` if asked."""
        ids = [self.ids.get(word, UNKNOWN_ID) for word in tokens]
        return torch.tensor([*ids, EOS_ID] if eos else ids, dtype=torch.long)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The words of ``ids`` up to the first ``<eos>``; padding and ``<bos>`` dropped."""
        words = []
        for k in (int(k) for k in ids):
            if k == EOS_ID:
                break
            if k not in (PAD_ID, BOS_ID):
                words.append(self.words[k])
        return words

    def to_list(self) -> list[str]:
        return list(self.words)

    @classmethod
    def from_list(cls, words: list[str], source: str = "vocabulary") -> "WordVocabulary":
        """The vocabulary that :meth:`to_list` gave; ``source`` names it in errors."""
        if not (isinstance(words, list) and all(isinstance(w, str) for w in words)):
            raise RnnlabError(f"{source}: a word vocabulary is a list of strings")
        if words[:4] != list(SPECIALS):
            raise RnnlabError(f"{source}: a word vocabulary starts with {', '.join(SPECIALS)}")
        if len(set(words)) != len(words):
            raise RnnlabError(f"{source}: a word vocabulary lists each word once")
        return cls(words[4:])
