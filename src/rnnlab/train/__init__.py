"""Training: configs, the trainer loop, truncated BPTT, checkpoints and run directories.

:mod:`rnnlab.train.config`
    ``RunConfig`` (``[model]``, ``[task]``, ``[training]``), ``load_config`` with overrides.
:mod:`rnnlab.train.trainer`
    ``fit`` (the loop), ``evaluate_split``, ``build``.
:mod:`rnnlab.train.bptt`
    ``plan_epoch`` (full, truncated and online BPTT) and ``detach_state``.
:mod:`rnnlab.train.optim`
    The optimisers and learning-rate schedules.
:mod:`rnnlab.train.checkpoint`
    Atomic, checksummed safetensors checkpoints.
:mod:`rnnlab.train.run_directory`
    The files of a run: ``config.toml``, ``metrics.jsonl``, ``checkpoints/``.
:mod:`rnnlab.train.progress`
    The progress bar or plain log lines.
"""

from rnnlab.train.bptt import detach_state, plan_epoch
from rnnlab.train.config import RunConfig, TrainingConfig, load_config, parse_config
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.trainer import FitResult, TrainingDivergedError, evaluate_split, fit

__all__ = [
    "FitResult",
    "RunConfig",
    "RunDirectory",
    "TrainingConfig",
    "TrainingDivergedError",
    "detach_state",
    "evaluate_split",
    "fit",
    "load_config",
    "parse_config",
    "plan_epoch",
]
