"""Tasks: seeded generators of stimulus streams and loaders of real data.

:data:`TASKS` maps each name to its config and task class; :func:`build_task` makes one.

Long-term-dependency benchmarks: :mod:`~rnnlab.tasks.latch` (Bengio et al. 1994),
:mod:`~rnnlab.tasks.two_sequence` and :mod:`~rnnlab.tasks.reber` (LSTM97 5.3, 5.1),
:mod:`~rnnlab.tasks.parity` (Bengio et al. 1994), :mod:`~rnnlab.tasks.adding` (LSTM97 5.4 and
the modern form) and :mod:`~rnnlab.tasks.copy_memory` (Arjovsky et al. 2016).
"""

from rnnlab.tasks import (
    adding,
    copy_memory,
    latch,
    letter_sequences,
    parity,
    reber,
    temporal_xor,
    two_sequence,
)
from rnnlab.tasks.base import Split, Task, masked_loss, predictions_from_outputs
from rnnlab.tasks.registry import TASKS, TaskConfig, build_task

__all__ = [
    "TASKS",
    "Split",
    "Task",
    "TaskConfig",
    "adding",
    "build_task",
    "copy_memory",
    "latch",
    "letter_sequences",
    "masked_loss",
    "parity",
    "predictions_from_outputs",
    "reber",
    "temporal_xor",
    "two_sequence",
]
