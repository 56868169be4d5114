"""The embedded Reber grammar: predict the legal next symbols of a string.

Hochreiter, S. and Schmidhuber, J. (1997). Long short-term memory. *Neural Computation*, 9(8),
Section 5.1 (Experiment 1); after Smith & Zipser (1989), Cleeremans, Servan-Schreiber &
McClelland (1989) and Fahlman (1991). The inner grammar is Reber's (1967).

Seven symbols, B T P S X V E, each a one-hot input (in that order). An embedded string is B,
then T or P, then a string of the inner Reber grammar (:data:`REBER_GRAMMAR`, itself from B to
E), then the same T or P again, then E; :data:`EMBEDDED_REBER_GRAMMAR` is the whole automaton.
Every choice between two edges is a fair coin. The network reads the string one symbol at a
time and, at every step, predicts which symbols may come next: the target is the multi-hot
*set* of legal next symbols, learned through logistic outputs with cross-entropy. The last
symbol, E, has no successor and is not read. The long-range part is the penultimate symbol,
which must repeat the second across the whole inner string.

Strings differ in length; a split pads them with zero inputs to its longest string, and its
mask is False on the padding. The metric ``accuracy`` is LSTM97's criterion, "all string
symbols predicted correctly": the fraction of strings for which, at every step, the symbols
with a prediction above 0.5 are exactly the legal ones.
"""

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.tasks.base import Split, Task, seed_field

SYMBOLS = "BTPSXVE"
"""The alphabet, in the order of the one-hot units."""

REBER_GRAMMAR: dict[int, dict[str, int]] = {
    0: {"B": 1},
    1: {"T": 2, "P": 3},
    2: {"S": 2, "X": 4},
    3: {"T": 3, "V": 5},
    4: {"X": 3, "S": 6},
    5: {"P": 4, "V": 6},
    6: {"E": 7},
    7: {},
}
"""Reber's grammar: state -> {symbol: next state}; it starts in 0 and accepts in 7."""

EMBEDDED_REBER_GRAMMAR: dict[str, dict[str, str]] = {
    "start": {"B": "branch"},
    "branch": {"T": "T0", "P": "P0"},
    # the inner grammar, once on the T branch (T0..T7) and once on the P branch (P0..P7)
    **{
        f"{branch}{state}": {symbol: f"{branch}{after}" for symbol, after in edges.items()}
        for branch in "TP"
        for state, edges in REBER_GRAMMAR.items()
        if edges
    },
    "T7": {"T": "close"},
    "P7": {"P": "close"},
    "close": {"E": "end"},
    "end": {},
}
"""The embedded grammar: state -> {symbol: next state}; it starts in "start", accepts in "end"."""


def legal_next(string: str) -> list[frozenset[str]]:
    """The legal next symbols after each prefix ``string[: t + 1]``, t = 0 .. len - 1.

    Raises ValueError when ``string`` leaves the embedded grammar.
    """
    state, sets = "start", []
    for t, symbol in enumerate(string):
        edges = EMBEDDED_REBER_GRAMMAR[state]
        if symbol not in edges:
            raise ValueError(
                f"{string!r} is not an embedded Reber string: {symbol!r} at position {t} "
                f"(legal: {''.join(edges) or 'none'})"
            )
        state = edges[symbol]
        sets.append(frozenset(EMBEDDED_REBER_GRAMMAR[state]))
    return sets


def accepts(string: str) -> bool:
    """Whether ``string`` is a complete string of the embedded Reber grammar."""
    try:
        sets = legal_next(string)
    except ValueError:
        return False
    return bool(sets) and not sets[-1]


def embedded_reber_string(generator: torch.Generator) -> str:
    """One random string of the embedded grammar, every choice a fair coin."""
    state, symbols = "start", []
    while edges := EMBEDDED_REBER_GRAMMAR[state]:
        options = list(edges)
        if len(options) == 1:
            symbol = options[0]
        else:
            symbol = options[int(torch.randint(len(options), (), generator=generator))]
        symbols.append(symbol)
        state = edges[symbol]
    return "".join(symbols)


def reber_split(strings: list[str]) -> Split:
    """Inputs, multi-hot targets and mask for ``strings``, padded to the longest.

    Step t reads ``string[t]`` (one-hot) and its target is the set of legal symbols after it;
    the final E is not read. Padding has zero inputs and targets and a False mask.
    """
    steps = max(len(s) for s in strings) - 1
    x = torch.zeros(len(strings), steps, len(SYMBOLS))
    y = torch.zeros(len(strings), steps, len(SYMBOLS))
    mask = torch.zeros(len(strings), steps, dtype=torch.bool)
    for n, string in enumerate(strings):
        for t, allowed in enumerate(legal_next(string)[:-1]):
            x[n, t, SYMBOLS.index(string[t])] = 1.0
            y[n, t, [SYMBOLS.index(symbol) for symbol in allowed]] = 1.0
            mask[n, t] = True
    return Split(x=x, y=y, mask=mask)


class ReberConfig(BaseModel):
    """``[task]`` of the embedded Reber grammar."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["reber"] = "reber"
    num_train: int = Field(256, ge=1, description="training strings (LSTM97: 256)")
    num_val: int = Field(256, ge=1, description="validation strings")
    num_test: int = Field(256, ge=1, description="test strings (LSTM97: 256)")
    seed: int = seed_field("seed of the data; the training seed is separate")


class Reber(Task):
    """The embedded Reber grammar as a sequence task; see the module docstring."""

    name = "reber"
    description = "Hochreiter & Schmidhuber (1997): legal next symbols of embedded Reber strings"
    stream = False
    loss = "bce"
    input_size = len(SYMBOLS)
    output_size = len(SYMBOLS)

    def __init__(self, config: ReberConfig) -> None:
        self.config = config

    def splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.config.seed)
        c = self.config
        return {
            split: reber_split([embedded_reber_string(generator) for _ in range(num)])
            for split, num in (("train", c.num_train), ("val", c.num_val), ("test", c.num_test))
        }

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """``accuracy``: the fraction of strings with every step's legal set predicted exactly."""
        step_right = ((predictions > 0.5) == (split.y > 0.5)).all(dim=-1)  # (N, T)
        if split.mask is not None:
            step_right = step_right | ~split.mask
        return {"accuracy": float(step_right.all(dim=1).float().mean())}
