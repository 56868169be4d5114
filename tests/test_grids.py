"""The split of large test grids (tests/grids.py): the default run's subset covers every pair of
factor values, and the default and slow runs together hold every case once."""

import itertools
import random

import pytest

from tests.grids import _pairs, covering, split_grid


def random_grid(seed: int) -> list[tuple]:
    """A product of 2-5 factors of 1-4 values each, some values None or lists, some cases
    dropped (as a grid whose paths cannot serve every family)."""
    rng = random.Random(seed)
    factors = [
        [rng.choice([None, [1, 2], "v", 3.0]) if rng.random() < 0.2 else f"{f}{v}"
         for v in range(rng.randint(1, 4))]
        for f in range(rng.randint(2, 5))
    ]  # fmt: skip
    cases = list(itertools.product(*factors))
    kept = [case for case in cases if rng.random() < 0.8]
    return kept or cases[:1]


@pytest.mark.parametrize("seed", range(20))
def test_the_covering_subset_holds_every_pair_of_the_grid(seed):
    grid = random_grid(seed)
    chosen = covering(grid)
    assert chosen == sorted(set(chosen)) and all(0 <= k < len(grid) for k in chosen)
    want = set().union(*(_pairs(case) for case in grid))
    assert set().union(*(_pairs(grid[k]) for k in chosen)) == want
    assert covering(grid) == chosen  # deterministic


def test_a_pairwise_subset_is_smaller_than_the_grid():
    grid = list(itertools.product(range(4), range(3), range(2), range(2)))
    chosen = covering(grid)
    assert 12 <= len(chosen) <= 16  # at least 4 x 3, the largest pair of factors
    assert len({grid[k][:2] for k in chosen}) == 12


def test_split_grid_marks_exactly_the_cases_outside_the_subset_slow():
    grid = random_grid(1)
    params = split_grid(grid, ids=[f"case{k}" for k in range(len(grid))])
    assert [tuple(p.values) for p in params] == grid
    assert [p.id for p in params] == [f"case{k}" for k in range(len(grid))]
    plain = [k for k, p in enumerate(params) if not p.marks]
    assert plain == covering(grid) and 0 < len(plain) < len(grid)
    assert all([m.name for m in p.marks] == ["slow"] for p in params if p.marks)
