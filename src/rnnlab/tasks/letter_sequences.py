"""Elman's (1990) letter sequences: consonants at random, vowels that follow by rule.

Elman, J. L. (1990). Finding structure in time. *Cognitive Science*, 14, 179-211,
Simulation 2 (pp. 187-191, Table 1).

The consonants b, d and g are drawn at random and each is replaced by a fixed syllable,
``b -> ba``, ``d -> dii``, ``g -> guuu``, giving one unbroken stream such as
``diibaguuubadiidii...``. Each letter is a vector of six phonetic features (Table 1). A network
that predicts the next letter can learn *that* a consonant comes (after the right number of
vowels) but not *which* one: the vowels are predictable, the consonants are not.
"""

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.tasks.base import Split, Task, next_step_split, seed_field

FEATURES = ("Consonant", "Vowel", "Interrupted", "High", "Back", "Voiced")

#: Table 1 of Elman (1990): letter -> (Consonant, Vowel, Interrupted, High, Back, Voiced).
LETTERS: dict[str, tuple[int, ...]] = {
    "b": (1, 0, 1, 0, 0, 1),
    "d": (1, 0, 1, 1, 0, 1),
    "g": (1, 0, 1, 0, 1, 1),
    "a": (0, 1, 0, 0, 1, 1),
    "i": (0, 1, 0, 1, 0, 1),
    "u": (0, 1, 0, 1, 1, 1),
}

SYLLABLES = {"b": "ba", "d": "dii", "g": "guuu"}
CONSONANTS = tuple(SYLLABLES)


def letter_stream(num_consonants: int, generator: torch.Generator) -> str:
    """A stream of ``num_consonants`` random syllables, e.g. ``"diibaguuu"``.

    Args:
        num_consonants: consonants to draw (Elman used 1,000, about 3,000 letters).
        generator: the source of randomness; the same seed gives the same stream.
    """
    if isinstance(num_consonants, bool) or not isinstance(num_consonants, int):
        raise TypeError(f"num_consonants must be an int; got {num_consonants!r}")
    if num_consonants < 1:
        raise ValueError(f"num_consonants must be >= 1; got {num_consonants}")
    draws = torch.randint(len(CONSONANTS), (num_consonants,), generator=generator)
    return "".join(SYLLABLES[CONSONANTS[k]] for k in draws.tolist())


def encode(letters: str) -> torch.Tensor:
    """The feature vectors of ``letters``, a float tensor of shape (T, 6)."""
    unknown = sorted(set(letters) - set(LETTERS))
    if unknown:
        raise ValueError(f"letters must be drawn from {''.join(LETTERS)!r}; got {unknown}")
    return torch.tensor([LETTERS[letter] for letter in letters], dtype=torch.float32)


class LettersConfig(BaseModel):
    """``[task]`` of Elman's letter sequences."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["letters"] = "letters"
    num_consonants: int = Field(1000, ge=2, description="consonants per stream (Elman: 1,000)")
    loss: Literal["sigmoid_mse", "bce"] = "sigmoid_mse"
    seed: int = seed_field("seed of the data; the training seed is separate")


class Letters(Task):
    """The letter-sequence stream task: predict the next letter's six features."""

    name = "letters"
    description = "Elman (1990) sim. 2: predict the next letter of ba/dii/guuu syllable streams"
    stream = True
    autoregressive = True
    input_size = len(FEATURES)
    output_size = len(FEATURES)

    def __init__(self, config: LettersConfig) -> None:
        self.config = config
        self.loss = config.loss

    def splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.config.seed)
        result = {}
        for split in ("train", "val", "test"):
            letters = encode(letter_stream(self.config.num_consonants, generator))  # (T, 6)
            result[split] = next_step_split(letters)
        return result

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """Mean Euclidean error where the target is a vowel, and where it is a consonant."""
        error = (predictions - split.y).norm(dim=-1)[0]  # (T,)
        is_consonant = split.y[0, :, 0] == 1
        return {
            "vowel_error": float(error[~is_consonant].mean()),
            "consonant_error": float(error[is_consonant].mean()),
        }
