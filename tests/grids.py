"""Large test grids in two parts: a covering subset in the default run, the rest behind ``slow``.

A grid of cases (families × paths × options × dtypes) grows as the product of its factors. The
default run (``pytest``) keeps a subset in which every pair of values of two factors that the
grid holds occurs at least once (pairwise coverage: every family on every path, each option
with every family and on every path, each dtype with each of them, ...); ``pytest -m slow``
runs the rest. The two runs together are the whole grid, each case once, under one test id.

Example:
    >>> grid = [(f, p, d) for f in "abc" for p in "xy" for d in (32, 64)]
    >>> kept = covering(grid)
    >>> len(grid), len(kept)
    (12, 6)
    >>> [p.marks for p in split_grid(grid)].count(()) == len(kept)
    True
"""

import itertools
from collections.abc import Sequence

import pytest


def _pairs(case: tuple) -> set[tuple]:
    """Every pair of (factor, value) that one case holds; values compared by ``repr``."""
    return {
        (i, repr(a), j, repr(b)) for (i, a), (j, b) in itertools.combinations(enumerate(case), 2)
    }


def covering(cases: Sequence[tuple]) -> list[int]:
    """The indices, in order, of a subset of ``cases`` that holds every pair of factor values
    that ``cases`` holds (one factor per position of a case's tuple). Greedy and deterministic:
    each step takes the first case that covers the most pairs not yet covered."""
    pairs = [_pairs(tuple(case)) for case in cases]
    wanted = set().union(*pairs)
    chosen: list[int] = []
    while wanted:
        best = max(range(len(cases)), key=lambda k: len(pairs[k] & wanted))
        chosen.append(best)
        wanted -= pairs[best]
    return sorted(chosen)


def split_grid(cases: Sequence[tuple], ids: Sequence[str] | None = None) -> list:
    """``cases`` as ``pytest.param``s, in their order: those of :func:`covering` plain (the
    default run), every other one marked slow (``pytest -m slow``)."""
    kept = set(covering(cases))
    return [
        pytest.param(
            *case,
            id=None if ids is None else ids[k],
            marks=() if k in kept else pytest.mark.slow,
        )
        for k, case in enumerate(cases)
    ]
