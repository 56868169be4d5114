"""Hypothesis profiles for the property tests (tests/test_properties_*.py).

``ci`` (the default) tries few examples, so that each property takes seconds; ``slow`` tries
many, for the ``@pytest.mark.slow`` variant of each property (``pytest -m slow``). Set
``HYPOTHESIS_PROFILE=slow`` to run every property with many examples.
"""

import os

from hypothesis import settings

# deadline=None: the first example of a run imports torch and pays for it.
settings.register_profile("ci", max_examples=25, deadline=None)
settings.register_profile("slow", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
