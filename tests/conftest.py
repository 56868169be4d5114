"""What the tests share: hypothesis profiles, and the fixtures of more than one test file.

The hypothesis profiles of the property tests (tests/test_properties_*.py): ``ci`` (the default)
tries few examples, so that each property takes seconds; ``slow`` tries many, for the
``@pytest.mark.slow`` variant of each property (``pytest -m slow``). Set
``HYPOTHESIS_PROFILE=slow`` to run every property with many examples.
"""

import os
from pathlib import Path

import pytest
from hypothesis import settings

# The shared data sits beside the repository (../shared/data), as in a fresh clone for CI.
SHAKESPEARE = Path(__file__).resolve().parents[2] / "shared/data/text/tinyshakespeare.txt"

# deadline=None: the first example of a run imports torch and pays for it.
settings.register_profile("ci", max_examples=25, deadline=None)
settings.register_profile("slow", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def corpus(tmp_path):
    """A text file of the first 20,000 characters of Tiny Shakespeare, the corpus of the tests of
    character language models (tasks, evaluation, sampling)."""
    path = tmp_path / "slice.txt"
    path.write_text(SHAKESPEARE.read_text(encoding="utf-8")[:20_000], encoding="utf-8")
    return path
