"""Tasks: seeded generators of stimulus streams and loaders of real data."""

from rnnlab.tasks import letter_sequences

__all__ = ["letter_sequences"]
