"""The training loop: one function, :func:`fit`, that reads top to bottom.

Around the loop, and not inside it: the plan of each epoch (:mod:`rnnlab.train.bptt`), the
optimiser and schedule (:mod:`rnnlab.train.optim`), the run directory and the progress display;
validation, early stopping, checkpoints and TensorBoard are callbacks
(:mod:`rnnlab.train.callbacks`) that see every update (:class:`rnnlab.train.loop.Loop`).

Everything a run needs to continue exactly is in its checkpoints: weights, optimiser and
schedule state, the torch random generator, the position in the epoch, the state carried
between chunks, early-stopping bookkeeping and the running sums of the current log window. The
plan of epoch ``e`` is drawn from a generator seeded with ``(seed, e)``. So a run killed at any
moment and resumed from its last checkpoint ends with the same weights and metrics, bit for bit
on a CPU, as a run that was never interrupted.
"""

import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial

import torch
from torch import nn

from rnnlab.errors import RnnlabError
from rnnlab.losses import TARGET_LOSSES
from rnnlab.models.ensemble import Ensemble
from rnnlab.tasks.base import Task, checked_splits
from rnnlab.tasks.member_tasks import MemberTasks
from rnnlab.train.bptt import plan_epoch, plan_member_epoch
from rnnlab.train.build import build
from rnnlab.train.callbacks import restore, standard_callbacks
from rnnlab.train.checkpoint import latest_checkpoint
from rnnlab.train.config import RunConfig, TrainingConfig
from rnnlab.train.distributed import DataParallel
from rnnlab.train.loop import Callback, Loop, TrainState
from rnnlab.train.optim import build_optimizer, build_scheduler
from rnnlab.train.progress import ProgressDisplay
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.update import carry, update
from rnnlab.train.validation import forward


class TrainingDivergedError(RnnlabError):
    """The loss or the gradient became NaN or infinite and the config says to stop."""


@dataclass(frozen=True)
class FitResult:
    """How a call to :func:`fit` ended, and the trained network (the same module, trained)."""

    network: nn.Module
    step: int
    epoch: int
    reason: str  # max_steps, max_epochs, early_stopping, target_reached, interrupted, ...
    metrics: dict[str, float] = field(default_factory=dict)  # the last validation
    history: list[dict] = field(default_factory=list)  # every metrics record of this call


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator of epoch ``epoch``'s batch order: a function of the seed and epoch only."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def fit_run(
    run: RunDirectory,
    config: RunConfig,
    *,
    resume: bool = False,
    checkpoint: str | None = None,
    device: str = "cpu",
    display: ProgressDisplay | None = None,
    callbacks: Sequence[Callback] = (),
    should_stop: Callable[[], bool] = lambda: False,
    data_parallel: DataParallel | None = None,
) -> FitResult:
    """Train what ``config`` describes in ``run``: :func:`rnnlab.train.build.build` makes the
    task and network, :func:`fit` trains them; with ``resume``, from a checkpoint of ``run``
    (the latest, or the one named by ``checkpoint``). ``rnnlab train`` and ``resume`` call it."""
    task, network = build(config, device)
    return fit(
        network, task, config.training, run, callbacks,
        resume=resume, checkpoint=checkpoint, device=device, display=display,
        should_stop=should_stop, data_parallel=data_parallel,
    )  # fmt: skip


def fit(
    network: nn.Module,
    task: Task,
    training: TrainingConfig,
    run: RunDirectory | None = None,
    callbacks: Sequence[Callback] = (),
    *,
    resume: bool = False,
    checkpoint: str | None = None,
    device: str = "cpu",
    display: ProgressDisplay | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    data_parallel: DataParallel | None = None,
) -> FitResult:
    """Train ``network`` on ``task`` as ``training`` says; returns a :class:`FitResult` that
    holds the trained network.

    ``network`` is any ``nn.Module`` called as ``outputs, state = network(x, state,
    lengths)``, as rnnlab's layers and networks are: x a batch of the task's inputs, ``state``
    the state carried from the previous chunk (None at the start of a sequence), ``outputs``
    raw (before the output activation the task's loss implies). With a ``run`` directory,
    metrics go to its ``metrics.jsonl`` and checkpoints to its ``checkpoints/``, and
    ``resume`` continues from one of them (the latest, or the one named by ``checkpoint``);
    without one, nothing is written and the metrics are in the result's ``history``.

    Around the updates act :class:`~rnnlab.train.loop.Callback` objects
    (:mod:`rnnlab.train.callbacks`): validation, early stopping, checkpoints and TensorBoard as
    ``training`` asks, with the given ``callbacks`` first, before the validation and the
    checkpoint of each step (:func:`rnnlab.train.callbacks.standard_callbacks`).

    The run's lock is held throughout and released at the end (:meth:`RunDirectory.lock`): a
    run another process trains in is refused with :class:`RunInUseError`
    (:mod:`rnnlab.train.run_directory`). When ``should_stop()`` turns true
    (:class:`rnnlab.train.interrupt.StopOnSignals` makes it so on SIGINT and SIGTERM), the run
    checkpoints after the current step and returns with reason ``"interrupted"``.

    With ``data_parallel`` (:class:`rnnlab.train.distributed.DataParallel`), this process is
    one of several of a ``torch.distributed`` process group that train the network together,
    each with its share of every global batch of ``W * training.batch_size``; every process
    calls ``fit`` with the same arguments (the same ``run``: only rank 0 writes in it, holds
    its lock and validates) and ends with the same network. See
    :mod:`rnnlab.train.distributed`.
    """
    if not isinstance(network, nn.Module):
        raise TypeError(f"network must be a torch.nn.Module; got {type(network).__name__}")
    if resume and run is None:
        raise ValueError("resume=True continues from a run's checkpoints; give the run")
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(
                f"callbacks must be rnnlab.train.Callback objects (OnStep(function) wraps a "
                f"function of the loop); got {type(callback).__name__}"
            )
    if isinstance(task, MemberTasks):
        if not isinstance(network, Ensemble) or len(network) != len(task):
            raise ValueError(
                f"MemberTasks of {len(task)} members train an Ensemble of as many; got "
                f"{type(network).__name__}"
                + (f" of {len(network)}" if isinstance(network, Ensemble) else "")
            )
        if data_parallel is not None:
            raise ValueError("an Ensemble trains in one process; data_parallel must be None")
    parallel = data_parallel
    writer = run if parallel is None or parallel.main else None  # the process that writes
    with nullcontext() if writer is None else writer.lock():
        optimizer = build_optimizer(network.parameters(), training)
        loop = Loop(
            network, task, training, writer,
            task.splits() if isinstance(task, MemberTasks) else checked_splits(task), optimizer,
            build_scheduler(optimizer, training), device, display or ProgressDisplay("quiet"),
            standard_callbacks(training, run, callbacks, should_stop) if parallel is None
            else parallel.callbacks(training, run, callbacks, should_stop),
            data_parallel=parallel,
        )  # fmt: skip
        if resume and checkpoint is None and latest_checkpoint(run.checkpoints) is None:
            resume = False  # stopped before its first checkpoint: start it over
            if writer is not None:
                run.truncate_metrics(-1)
            loop.display.message(f"{run.path} has no checkpoint yet: starting it again at step 0")
        if resume:
            restore(loop, checkpoint, run)
            if writer is not None:
                run.truncate_metrics(loop.state.step)
            if loop.state.finished:
                loop.validation = _last_validation(run)
                loop.emit("end")
                return _result(loop, "already_finished")
            loop.display.message(f"resuming {run.path} at step {loop.state.step}")
        elif writer is not None:
            task.save(run.path)
        if parallel is not None:
            parallel.start(loop, resumed=resume)
        try:
            _train(loop)
            if parallel is not None:
                parallel.barrier()  # rank 0's last checkpoint is whole before any process returns
            if loop.interrupted and run is not None:
                loop.display.message(
                    f"interrupted at step {loop.state.step}; checkpoint saved. "
                    f"Continue with: rnnlab resume {run.path}"
                )
        finally:
            loop.display.close()
            loop.emit("end")
        return _result(loop, "interrupted" if loop.interrupted else loop.state.finished)


def _train(loop: Loop) -> None:
    """Update until a limit, a callback or an interruption ends training."""
    network, task, training, state = loop.network, loop.task, loop.training, loop.state
    device, parallel = loop.device, loop.data_parallel  # parallel: None in one process
    model = network if parallel is None else parallel.wrap(network, device)  # forward, backward
    class_weights = None if task.class_weights is None else task.class_weights.to(device)
    loop.display.start(training.max_steps, state.step)
    window_start = time.perf_counter()
    run_start = clock = time.perf_counter()
    network.train()
    loop.emit("start")
    members = isinstance(task, MemberTasks)  # every member its own data and batch order
    while state.finished is None:
        if members:
            units = plan_member_epoch(
                loop.splits["train"], task.stream, training.batch_size, training.bptt,
                training.chunk_length, [epoch_generator(s, state.epoch) for s in task.seeds],
            )  # fmt: skip
        else:
            units = plan_epoch(
                loop.splits["train"], task.stream, training.batch_size, training.bptt,
                training.chunk_length, epoch_generator(training.seed, state.epoch),
                (0, 1) if parallel is None else parallel.shard,
            )  # fmt: skip
        while state.unit < len(units) and state.finished is None:
            unit = units[state.unit]
            if unit.reset:
                loop.carried = None
            x, y = unit.x.to(device), unit.y.to(device)
            mask = None if unit.mask is None else unit.mask.to(device)
            state.unit += 1
            count = None
            if parallel is not None:  # the targets here and in the global batch
                count = parallel.count_targets(task.targets, x, y, mask, task.loss, class_weights)
            if mask is not None and not (mask.any() if count is None else count.global_tokens):
                # Nothing to learn in this chunk (the target comes later): only carry on.
                with torch.no_grad():
                    _, loop.carried = network(x, loop.carried)
                continue

            # -- one update -------------------------------------------------------------
            outputs, new_state = forward(
                model, x, y, loop.carried, unit.lengths, training.teacher_forcing, task.loss
            )
            loss_of = partial(
                TARGET_LOSSES[task.targets], loss=task.loss, weight=class_weights,
                label_smoothing=training.label_smoothing,
            )  # fmt: skip
            if members:  # member k's loss on its own targets
                loss_of = [
                    partial(loss_of, y=y[k], mask=None if mask is None else mask[k])
                    for k in range(len(task))
                ]
            else:
                loss_of = partial(loss_of, y=y, mask=mask)
            if parallel is not None:  # this process's share of the global batch's mean loss
                loss_of = parallel.share(loss_of, count)
            done = update(
                network, loop.optimizer, outputs, loss_of, training.clip_grad_norm, state.frozen,
                agree=None if parallel is None else parallel.agree,
            )  # fmt: skip
            state.step += 1
            if done.nonfinite:
                if training.on_nonfinite == "stop":
                    raise TrainingDivergedError(
                        _divergence_message(loop.run, state.step, done.loss, done.grad_norm)
                    )
                state.skipped += 1  # skip: no update, and the state from before this batch
            if done.applied:
                loop.scheduler.step()
                loop.carried = carry(new_state, loop.carried, done.nonfinite)
                state.window_loss += done.loss
                state.window_grad_norm += done.grad_norm
                state.window_updates += 1
                one = unit.x[0] if members else unit.x  # (B, T, ...): one member's batch
                state.window_tokens += one.shape[0] * one.shape[1] if count is None else count.steps

            # -- the limits, the training record, then the callbacks -----------------------
            if state.step >= training.max_steps:
                state.finished = "max_steps"
            now = time.perf_counter()
            state.seconds += now - clock
            clock = now
            if training.max_minutes is not None and state.seconds >= 60 * training.max_minutes:
                state.finished = state.finished or "max_minutes"
            if state.step % training.log_every == 0:
                elapsed = time.perf_counter() - window_start
                record = _log_record(
                    state, loop.optimizer, elapsed, time.perf_counter() - run_start
                )
                window_start = time.perf_counter()
                loop.record(record)
            loop.emit("step")
            if loop.interrupted:
                return

        if state.unit >= len(units):
            state.epoch += 1
            state.unit = 0
            if state.finished is None and (
                training.max_epochs is not None and state.epoch >= training.max_epochs
            ):
                state.finished = "max_epochs"
            loop.emit("epoch")


def _result(loop: Loop, reason: str) -> FitResult:
    state = loop.state
    return FitResult(loop.network, state.step, state.epoch, reason, loop.validation, loop.history)


def _log_record(state: TrainState, optimizer, elapsed: float, wall_time: float) -> dict:
    updates = max(state.window_updates, 1)
    record = {
        "step": state.step,
        "epoch": state.epoch,
        "loss": state.window_loss / updates,
        "grad_norm": state.window_grad_norm / updates,
        "lr": optimizer.param_groups[0]["lr"],
        "skipped": state.skipped,
        "tokens_per_s": state.window_tokens / elapsed if elapsed > 0 else 0.0,
        "wall_time": wall_time,
    }
    state.window_loss = state.window_grad_norm = 0.0
    state.window_updates = state.window_tokens = 0
    return record


def _last_validation(run: RunDirectory) -> dict:
    records = [r for r in run.read_metrics() if "val_loss" in r]
    return {k: v for k, v in records[-1].items() if k.startswith("val_")} if records else {}


def _divergence_message(run: RunDirectory | None, step: int, loss: float, grad_norm: float) -> str:
    latest = None if run is None else latest_checkpoint(run.checkpoints)
    kept = f"the last good checkpoint is {latest}" if latest else "no checkpoint was written yet"
    return (
        f"training stopped at step {step}: the loss is {loss} and the gradient norm "
        f"{grad_norm}; {kept}. Lower training.lr, set training.clip_grad_norm, or set "
        f'training.on_nonfinite = "skip"'
    )
