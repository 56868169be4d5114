"""Training: configs, the trainer loop, truncated BPTT, checkpoints and run directories.

:mod:`rnnlab.train.config`
    ``RunConfig`` (``[model]``, ``[task]``, ``[training]``), ``load_config`` with overrides.
:mod:`rnnlab.train.trainer`
    ``fit(network, task, training, run=None, callbacks=())`` (the loop; its result holds the
    trained network), ``fit_run`` (a config in a run directory).
:mod:`rnnlab.train.loop`
    ``TrainState`` (the loop's position, saved in checkpoints), ``Loop`` (what a callback
    sees), ``Callback`` (the events around the updates) and ``OnStep`` (a function as one).
:mod:`rnnlab.train.callbacks`
    Validation, early stopping, checkpoints, TensorBoard and the stop a signal asks for.
:mod:`rnnlab.train.validation`
    ``evaluate_split``: a network's loss and metrics on a whole split.
:mod:`rnnlab.train.build`
    ``build``: the one place a config becomes a task and a network.
:mod:`rnnlab.train.distributed`
    ``DataParallel``: what ``fit(..., data_parallel=DataParallel())`` needs to train one
    network in several processes (rank-strided batches, the loss over the global count of
    targets, one decision everywhere, rank 0 writes).
:mod:`rnnlab.train.launch`
    ``launch`` (N local processes joined through a file), ``fit_run_parallel``
    (``rnnlab train --nproc N``) and the torchrun environment.
:mod:`rnnlab.train.online`
    Elman's online learning (an SGD update after every input) fused into one compiled loop.
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
:mod:`rnnlab.train.sweep_config`
    ``load_sweep``: a sweep file (a base config, a grid and/or points of overrides, seeds).
:mod:`rnnlab.train.sweep`
    ``run_sweep``: every point and seed of a sweep as a run directory, on local workers or
    Ray, and the summary over seeds.
:mod:`rnnlab.train.workers`
    ``run_jobs``: independent jobs (a study's networks) on local worker processes.
"""

from rnnlab.train.bptt import detach_state, plan_epoch
from rnnlab.train.build import build
from rnnlab.train.config import RunConfig, TrainingConfig, load_config, parse_config
from rnnlab.train.distributed import DataParallel
from rnnlab.train.loop import Callback, Loop, OnStep, TrainState
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.sweep import SweepSummary, run_sweep
from rnnlab.train.sweep_config import Sweep, load_sweep
from rnnlab.train.trainer import FitResult, TrainingDivergedError, fit, fit_run
from rnnlab.train.validation import evaluate_split
from rnnlab.train.workers import run_jobs

__all__ = [
    "Callback",
    "DataParallel",
    "FitResult",
    "Loop",
    "OnStep",
    "RunConfig",
    "RunDirectory",
    "Sweep",
    "SweepSummary",
    "TrainState",
    "TrainingConfig",
    "TrainingDivergedError",
    "build",
    "detach_state",
    "evaluate_split",
    "fit",
    "fit_run",
    "load_config",
    "load_sweep",
    "parse_config",
    "plan_epoch",
    "run_jobs",
    "run_sweep",
]
