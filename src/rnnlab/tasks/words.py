"""Elman's (1990) discovering the notion "word": letters of unsegmented sentences.

Elman, J. L. (1990). Finding structure in time. *Cognitive Science*, 14, 179-211,
Simulation 3 (pp. 191-194, Table 2, Fig. 6).

Sentences from a small grammar are run together letter by letter with no spaces or sentence
breaks, e.g. ``manyyearsagoaboyandgirllivedbythesea...``. Each letter is the 5-bit binary code
of its position in the alphabet (Table 2: a = 00001, b = 00010, ..., y = 11001). A network that
predicts the next letter errs most at the first letter of a word: error peaks mark word onsets.

Elman's 15-word lexicon and grammar were not published; the Fig. 6 test passage, "Many years
ago a boy and girl lived by the sea. They played happily", has 14 distinct words. The grammar
here uses those 14 and "ocean" (the placeholder of a Keras re-implementation, jodeleeuw/
elman-1990-in-keras), and makes sentences of 4-9 words: [(many) years (ago)] subject (they, a/the
boy/girl, or two of them joined by "and") lived/played [happily] [by a/the sea/ocean].
"""

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.tasks.base import Split, Task, next_step_split, seed_field

PASSAGE = [
    "many",
    "years",
    "ago",
    "a",
    "boy",
    "and",
    "girl",
    "lived",
    "by",
    "the",
    "sea",
    "they",
    "played",
    "happily",
]
LEXICON = sorted(set(PASSAGE) | {"ocean"})

# The grammar: [time] subject verb [manner] [place], 4-9 words, with a random choice at every
# phrase and most word boundaries, so that a word's first letter is hard to predict.
DETERMINERS = ("a", "the")
NOUNS = ("boy", "girl")
PLACES = ("sea", "ocean")


def _choice(options, generator: torch.Generator):
    return options[int(torch.randint(len(options), (), generator=generator))]


def _subject(generator: torch.Generator) -> list[str]:
    form = int(torch.randint(4, (), generator=generator))
    if form == 0:
        return ["they"]
    words = [_choice(DETERMINERS, generator), _choice(NOUNS, generator)]
    if form == 1:
        words += ["and", _choice(DETERMINERS, generator), _choice(NOUNS, generator)]
    elif form == 2:
        words += ["and", _choice(NOUNS, generator)]
    return words


def letter_code(letter: str) -> tuple[int, ...]:
    """The 5-bit code of a letter's position in the alphabet (Table 2): a = 00001."""
    if len(letter) != 1 or not "a" <= letter <= "z":
        raise ValueError(f"letter must be one of a-z; got {letter!r}")
    index = ord(letter) - ord("a") + 1
    return tuple((index >> bit) & 1 for bit in range(4, -1, -1))


def sentence(generator: torch.Generator) -> tuple[str, ...]:
    """One sentence of 4-9 words from the grammar."""
    while True:
        words: list[str] = []
        words += _choice(((), (), ("many", "years", "ago"), ("many", "years"), ("years", "ago")),
                         generator)  # fmt: skip
        words += _subject(generator)
        words.append(_choice(("lived", "played"), generator))
        if _choice((False, True), generator):
            words.append("happily")
        if _choice((False, True), generator):
            words += ["by", _choice(DETERMINERS, generator), _choice(PLACES, generator)]
        if 4 <= len(words) <= 9:
            return tuple(words)


def encode(letters: str) -> torch.Tensor:
    """(T, 5) float codes of a string of letters."""
    return torch.tensor([letter_code(letter) for letter in letters], dtype=torch.float32)


def word_onsets(words: list[str] | tuple[str, ...]) -> list[int]:
    """The index in the run-together letter string of each word's first letter."""
    onsets, position = [], 0
    for word in words:
        onsets.append(position)
        position += len(word)
    return onsets


class WordsConfig(BaseModel):
    """``[task]`` of the word-discovery simulation."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["words"] = "words"
    num_sentences: int = Field(200, ge=1, description="sentences per stream (Elman: 200)")
    loss: Literal["sigmoid_mse", "bce"] = "sigmoid_mse"
    seed: int = seed_field("seed of the data; the training seed is separate")


class Words(Task):
    """Letter-by-letter prediction of run-together sentences; the test split is Fig. 6's
    passage."""

    name = "words"
    description = "Elman (1990) sim. 3: predict the next letter of unsegmented sentences"
    stream = True
    autoregressive = True
    input_size = 5
    output_size = 5

    def __init__(self, config: WordsConfig) -> None:
        self.config = config
        self.loss = config.loss

    def stream_words(self, generator: torch.Generator) -> list[str]:
        return [w for _ in range(self.config.num_sentences) for w in sentence(generator)]

    def splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.config.seed)
        result = {}
        for split in ("train", "val"):
            letters = encode("".join(self.stream_words(generator)))
            result[split] = next_step_split(letters)
        passage = encode("".join(PASSAGE))
        result["test"] = next_step_split(passage)
        return result
