"""Elman's (1990) lexical classes from word order: two- and three-word sentences, word by word.

Elman, J. L. (1990). Finding structure in time. *Cognitive Science*, 14, 179-211,
Simulations 4 and 5 (pp. 194-207, Tables 3-4, Figs. 7-9).

A generator picks one of the 16 sentence templates of Table 4 and fills each slot with a
random word of its category; 10,000 such sentences run together with no breaks. Each word is a
31-bit one-hot vector: 29 words and 2 bits reserved for later (Simulation 5 gives one of them to
the novel word "zog"). Class membership was not published in full; these lists are the
best guess of the CCM homework's generator (brendenlake/CCM-site, `_gen_elman.py`), which
the replication spec recommends.
"""

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.tasks.base import Split, Task, seed_field

N_HUM = ("man", "woman", "boy", "girl")
N_AGRESS = ("dragon", "monster", "lion")
N_ANIM = N_HUM + N_AGRESS + ("cat", "mouse", "dog")
N_FRAG = ("glass", "plate")
N_FOOD = ("cookie", "bread", "sandwich")
N_INANIM = N_FRAG + N_FOOD + ("book", "rock", "car")
V_INTRAN = ("think", "sleep", "exist")
V_TRAN = ("see", "chase", "like")
V_AGPAT = ("move", "break")
V_PERCEPT = ("smell", "see")
V_DESTROY = ("break", "smash")
V_EAT = ("eat",)

# Table 4: the 16 templates, as tuples of categories.
TEMPLATES = (
    (N_HUM, V_EAT, N_FOOD), (N_HUM, V_PERCEPT, N_INANIM), (N_HUM, V_DESTROY, N_FRAG),
    (N_HUM, V_INTRAN), (N_HUM, V_TRAN, N_HUM), (N_HUM, V_AGPAT, N_INANIM), (N_HUM, V_AGPAT),
    (N_ANIM, V_EAT, N_FOOD), (N_ANIM, V_TRAN, N_ANIM), (N_ANIM, V_AGPAT, N_INANIM),
    (N_ANIM, V_AGPAT), (N_INANIM, V_AGPAT), (N_AGRESS, V_DESTROY, N_FRAG),
    (N_AGRESS, V_EAT, N_HUM), (N_AGRESS, V_EAT, N_ANIM), (N_AGRESS, V_EAT, N_FOOD),
)  # fmt: skip

NOUNS = ("man", "woman", "boy", "girl", "cat", "mouse", "dog", "lion", "dragon", "monster",
         "book", "rock", "car", "glass", "plate", "sandwich", "cookie", "bread")  # fmt: skip
VERBS = ("think", "sleep", "exist", "see", "chase", "like", "move", "break", "smell", "smash",
         "eat")  # fmt: skip
WORDS = NOUNS + VERBS  # 29; input bits 29 and 30 are reserved
NOVEL_WORD = "zog"
VOCABULARY = (*WORDS, NOVEL_WORD, "<reserved>")  # 31 one-hot positions
INDEX = {word: k for k, word in enumerate(VOCABULARY)}

# The groups of Fig. 7, for the cluster checks.
NOUN_GROUPS = {
    "humans": ("man", "woman", "boy", "girl"),
    "small animals": ("cat", "mouse", "dog"),
    "aggressors": ("dragon", "monster", "lion"),
    "food": ("sandwich", "cookie", "bread"),
    "breakables": ("glass", "plate"),
    "other inanimates": ("book", "rock", "car"),
}


def sentences(num: int, generator: torch.Generator) -> list[tuple[str, ...]]:
    """``num`` sentences: a uniform template, then a uniform word for each slot."""
    result = []
    for _ in range(num):
        template = TEMPLATES[int(torch.randint(len(TEMPLATES), (), generator=generator))]
        result.append(
            tuple(slot[int(torch.randint(len(slot), (), generator=generator))] for slot in template)
        )
    return result


def one_hot(indices: torch.Tensor) -> torch.Tensor:
    """(T,) word indices -> (T, 31) one-hot float vectors."""
    return torch.nn.functional.one_hot(indices, len(VOCABULARY)).float()


def corpus_indices(
    corpus: list[tuple[str, ...]], replace: dict[str, str] | None = None
) -> torch.Tensor:
    """The word indices of the run-together corpus, with ``replace`` applied (e.g. man -> zog)."""
    replace = replace or {}
    return torch.tensor([INDEX[replace.get(w, w)] for s in corpus for w in s], dtype=torch.long)


class LexicalClassesConfig(BaseModel):
    """``[task]`` of the lexical-classes simulation."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["lexical_classes"] = "lexical_classes"
    num_sentences: int = Field(10000, ge=1, description="sentences per stream (Elman: 10,000)")
    seed: int = seed_field("seed of the data; the training seed is separate")


class LexicalClasses(Task):
    """Next-word prediction over the run-together sentences; targets are word indices."""

    name = "lexical_classes"
    description = "Elman (1990) sim. 4: predict the next word of 2-3-word sentences (29 words)"
    stream = True
    autoregressive = True
    loss = "cross_entropy"
    input_size = len(VOCABULARY)
    output_size = len(VOCABULARY)

    def __init__(self, config: LexicalClassesConfig) -> None:
        self.config = config

    def corpora(self) -> dict[str, list[tuple[str, ...]]]:
        """The sentences of each split (train, val, test), drawn from the config's seed."""
        generator = torch.Generator().manual_seed(self.config.seed)
        return {split: sentences(self.config.num_sentences, generator)
                for split in ("train", "val", "test")}  # fmt: skip

    def splits(self) -> dict[str, Split]:
        result = {}
        for split, corpus in self.corpora().items():
            indices = corpus_indices(corpus)
            result[split] = Split(x=one_hot(indices[:-1])[None], y=indices[None, 1:])
        return result

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """``accuracy``: how often the most likely next word is the one that came."""
        return {"accuracy": float((predictions.argmax(-1) == split.y).float().mean())}
