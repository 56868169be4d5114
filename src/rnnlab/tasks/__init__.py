"""Tasks: seeded generators of stimulus streams and loaders of real data.

:data:`TASKS` maps each name to its config and task class; :func:`build_task` makes one.
"""

from rnnlab.tasks import adding, letter_sequences, temporal_xor
from rnnlab.tasks.base import Split, Task, masked_loss, predictions_from_outputs
from rnnlab.tasks.registry import TASKS, TaskConfig, build_task

__all__ = [
    "TASKS",
    "Split",
    "Task",
    "TaskConfig",
    "adding",
    "build_task",
    "letter_sequences",
    "masked_loss",
    "predictions_from_outputs",
    "temporal_xor",
]
