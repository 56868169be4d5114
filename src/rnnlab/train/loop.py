"""What the training loop is at each moment, and what a callback sees of it.

:class:`TrainState` is the loop's position and bookkeeping (saved in every checkpoint, so a
resumed run continues exactly); :class:`Loop` holds it with the network, the task and what
trains the network; :class:`Callback` is the base of everything that acts around the updates
(:mod:`rnnlab.train.callbacks`: validation, early stopping, checkpoints, TensorBoard).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from rnnlab.tasks.base import Split, Task
from rnnlab.train.config import TrainingConfig
from rnnlab.train.progress import ProgressDisplay
from rnnlab.train.run_directory import RunDirectory


@dataclass
class TrainState:
    """The loop's position and bookkeeping, saved in every checkpoint."""

    step: int = 0  # updates done (skipped non-finite batches count: the limit must bind)
    epoch: int = 0
    unit: int = 0  # the next unit of the epoch's plan
    best: float | None = None  # best early-stopping metric so far
    evals_since_best: int = 0
    skipped: int = 0  # batches skipped for a non-finite loss or gradient
    window_loss: float = 0.0  # sums over the updates since the last metrics record
    window_grad_norm: float = 0.0
    window_updates: int = 0
    window_tokens: int = 0
    seconds: float = 0.0  # training time so far, over every session of a resumed run
    finished: str | None = None  # why: max_steps, max_epochs, max_minutes, early_stopping,
    # target_reached
    # An ensemble's members one by one (rnnlab.models.ensemble): those that early stopping
    # froze, and each member's best early-stopping metric and validations since it.
    frozen: list[int] = field(default_factory=list)
    member_best: list[float | None] | None = None
    member_evals_since_best: list[int] | None = None


class Callback:
    """Something that acts around the updates of :func:`rnnlab.train.fit`; override the events
    you need. The loop calls, on every callback in order:

    - ``on_start(loop)`` before the first update (after a resume: at the restored step);
    - ``on_step(loop)`` after every update, ``loop.state.step`` being the updates done (a batch
      skipped for a non-finite loss counts as one);
    - ``on_record(loop, record)`` for every metrics record (a training window, or a validation),
      right after it is logged;
    - ``on_validation(loop, metrics)`` after each validation (``metrics`` with ``val_`` names);
    - ``on_epoch(loop)`` after each epoch of finite data;
    - ``on_end(loop)`` when the loop ends, however it ends.

    A callback ends training by setting ``loop.state.finished`` to the reason, or asks for a
    checkpoint and a return by setting ``loop.interrupted``.
    """

    def on_start(self, loop: "Loop") -> None:
        pass

    def on_step(self, loop: "Loop") -> None:
        pass

    def on_record(self, loop: "Loop", record: dict) -> None:
        pass

    def on_validation(self, loop: "Loop", metrics: dict[str, float]) -> None:
        pass

    def on_epoch(self, loop: "Loop") -> None:
        pass

    def on_end(self, loop: "Loop") -> None:
        pass


class OnStep(Callback):
    """A callback from a function called as ``function(loop)`` after every update."""

    def __init__(self, function: Callable[["Loop"], None]) -> None:
        self.function = function

    def on_step(self, loop: "Loop") -> None:
        self.function(loop)


@dataclass
class Loop:
    """The network being trained and everything the loop trains it with, as callbacks see it."""

    network: nn.Module
    task: Task
    training: TrainingConfig
    run: RunDirectory | None
    splits: dict[str, Split]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    device: str
    display: ProgressDisplay
    callbacks: Sequence[Callback] = ()
    state: TrainState = field(default_factory=TrainState)
    carried: object = None  # the recurrent state carried from the previous unit, or None
    history: list[dict] = field(default_factory=list)  # every metrics record of this call
    validation: dict[str, float] = field(default_factory=dict)  # the last validation
    interrupted: bool = False
    data_parallel: object = None  # rnnlab.train.distributed.DataParallel, or None: one process

    def record(self, record: dict) -> None:
        """Log a metrics record (into the history, the run's ``metrics.jsonl`` if there is a
        run, and the display), then pass it to every callback."""
        self.history.append(record)
        if self.run is not None:
            self.run.append_metrics(record)
        self.display.update(record)
        for callback in self.callbacks:
            callback.on_record(self, record)

    def validated(self, metrics: dict[str, float]) -> None:
        """Keep a validation's metrics as the last one and pass them to every callback."""
        self.validation = metrics
        for callback in self.callbacks:
            callback.on_validation(self, metrics)

    def emit(self, event: str) -> None:
        """Call ``on_<event>(loop)`` of every callback, in order."""
        for callback in self.callbacks:
            getattr(callback, f"on_{event}")(self)
