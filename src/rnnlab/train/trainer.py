"""The training loop: one function, :func:`fit`, that reads top to bottom.

Around the loop, and not inside it: the plan of each epoch (:mod:`rnnlab.train.bptt`), the
optimiser and schedule (:mod:`rnnlab.train.optim`), checkpoints
(:mod:`rnnlab.train.checkpoint`), the run directory and the progress display. A callback sees
every update and every validation.

Everything a run needs to continue exactly is in its checkpoints: weights, optimiser and
schedule state, the torch random generator, the position in the epoch, the state carried
between chunks, early-stopping bookkeeping and the running sums of the current log window. The
plan of epoch ``e`` is drawn from a generator seeded with ``(seed, e)``. So a run killed at any
moment and resumed from its last checkpoint ends with the same weights and metrics, bit for bit
on a CPU, as a run that was never interrupted.
"""

import math
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.evaluation import evaluation_of
from rnnlab.layers import state_from_tensors, state_tensors
from rnnlab.losses import TARGET_LOSSES, predictions_from_outputs
from rnnlab.tasks.base import Split, Task, checked_splits
from rnnlab.train.bptt import detach_state, plan_epoch
from rnnlab.train.build import build
from rnnlab.train.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    optimizer_state_from_tensors,
    optimizer_state_to_tensors,
    save_checkpoint,
)
from rnnlab.train.config import RunConfig, TrainingConfig
from rnnlab.train.optim import build_optimizer, build_scheduler
from rnnlab.train.progress import ProgressDisplay
from rnnlab.train.run_directory import RunDirectory


class TrainingDivergedError(RnnlabError):
    """The loss or the gradient became NaN or infinite and the config says to stop."""


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


@dataclass(frozen=True)
class FitResult:
    """How a call to :func:`fit` ended, and the trained network (the same module, trained)."""

    network: nn.Module
    step: int
    epoch: int
    reason: str  # max_steps, max_epochs, early_stopping, target_reached, interrupted, ...
    metrics: dict[str, float] = field(default_factory=dict)  # the last validation
    history: list[dict] = field(default_factory=list)  # every metrics record of this call


Callback = Callable[[str, TrainState, nn.Module], None]


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator of epoch ``epoch``'s batch order: a function of the seed and epoch only."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def forward(network, x, y, state, lengths, teacher_forcing: float = 1.0, loss: str = "mse"):
    """The network's raw outputs and final state on one batch: an encoder-decoder also reads
    the targets ``y``; ``teacher_forcing < 1`` is scheduled sampling."""
    if getattr(network, "needs_targets", False):
        return network(x, state, lengths, targets=y, teacher_forcing=teacher_forcing)
    if teacher_forcing < 1:
        return network.forward_scheduled(x, state, teacher_forcing, loss)
    return network(x, state, lengths)


@contextmanager
def evaluation_mode(network):
    """Evaluation mode (no dropout) inside the block, the network's own mode after it."""
    was_training = network.training
    network.eval()
    try:
        yield network
    finally:
        network.train(was_training)


@torch.no_grad()
def split_outputs(network: nn.Module, split: Split, device: str = "cpu") -> torch.Tensor:
    """The raw outputs of ``network`` on a whole split, in evaluation mode."""
    lengths = None if split.lengths is None else split.lengths.to(device)
    with evaluation_mode(network):
        outputs, _ = forward(network, split.x.to(device), split.y.to(device), None, lengths)
    return outputs


@torch.no_grad()
def sequence_loss(network, task: Task, split: Split, device: str = "cpu", batch: int = 256):
    """The masked loss of a split of independent sequences, computed ``batch`` sequences at a
    time (for large outputs such as a translation's vocabulary), weighted by their tokens."""
    total, count = 0.0, 0
    with evaluation_mode(network):
        for start in range(0, split.x.shape[0], batch):
            rows = slice(start, start + batch)
            mask = None if split.mask is None else split.mask[rows].to(device)
            lengths = None if split.lengths is None else split.lengths[rows].to(device)
            y = split.y[rows].to(device)
            outputs, _ = forward(network, split.x[rows].to(device), y, None, lengths)
            tokens = int(mask.sum()) if mask is not None else y.numel()
            total += float(TARGET_LOSSES[task.targets](outputs, y, mask, task.loss)) * tokens
            count += tokens
    return total / count


def metrics_of_outputs(outputs: torch.Tensor, task: Task, split: Split) -> dict:
    """Loss and task metrics of a network's raw outputs on a split."""
    mask = None if split.mask is None else split.mask.to(outputs.device)
    y = split.y.to(outputs.device)
    metrics = {"loss": float(TARGET_LOSSES[task.targets](outputs, y, mask, task.loss))}
    metrics.update(task.metrics(predictions_from_outputs(outputs, task.loss).cpu(), split))
    return metrics


def evaluate_split(
    network: nn.Module, task: Task, split: Split, device: str = "cpu", name: str | None = None
) -> dict:
    """Loss and task metrics of ``network`` on a whole split, in evaluation mode; with the
    split's ``name``, also the quick metrics that need the network (see
    ``quick`` in :mod:`rnnlab.evaluation`)."""
    if task.targets == "sequence":
        metrics = {"loss": sequence_loss(network, task, split, device)}
    else:
        metrics = metrics_of_outputs(split_outputs(network, split, device), task, split)
    quick = evaluation_of(task).quick
    if name is not None and quick is not None:
        with evaluation_mode(network):
            metrics.update(quick(task, network, name))
    return metrics


def fit_run(
    run: RunDirectory,
    config: RunConfig,
    *,
    resume: bool = False,
    checkpoint: str | None = None,
    device: str = "cpu",
    display: ProgressDisplay | None = None,
    callback: Callback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> FitResult:
    """Train what ``config`` describes in ``run``: :func:`rnnlab.train.build.build` makes the
    task and network, :func:`fit` trains them; with ``resume``, from a checkpoint of ``run``
    (the latest, or the one named by ``checkpoint``). ``rnnlab train`` and ``resume`` call it."""
    task, network = build(config, device)
    return fit(
        network, task, config.training, run, () if callback is None else (callback,),
        resume=resume, checkpoint=checkpoint, device=device, display=display,
        should_stop=should_stop,
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
    Each callback is called as ``callback("step", state, network)`` after every update.

    The run's lock is held throughout and released at the end (:meth:`RunDirectory.lock`): a
    run another process trains in is refused with :class:`RunInUseError`
    (:mod:`rnnlab.train.run_directory`). When ``should_stop()`` turns true
    (:class:`rnnlab.train.interrupt.StopOnSignals` makes it so on SIGINT and SIGTERM), the run
    checkpoints after the current step and returns with reason ``"interrupted"``.
    """
    if not isinstance(network, nn.Module):
        raise TypeError(f"network must be a torch.nn.Module; got {type(network).__name__}")
    if resume and run is None:
        raise ValueError("resume=True continues from a run's checkpoints; give the run")
    with nullcontext() if run is None else run.lock():
        return _fit(
            network, task, training, run, callbacks, resume, checkpoint, device, display,
            should_stop,
        )  # fmt: skip


def _fit(
    network, task, training, run, callbacks, resume, checkpoint, device, display, should_stop
) -> FitResult:
    display = display or ProgressDisplay("quiet")
    splits = checked_splits(task)  # checked against the kinds the task declares
    optimizer = build_optimizer(network.parameters(), training)
    scheduler = build_scheduler(optimizer, training)
    class_weights = None if task.class_weights is None else task.class_weights.to(device)
    state = TrainState()
    carried = None  # the recurrent state carried from the previous unit
    history: list[dict] = []
    log = _Log(run, history)
    writer = None if run is None else _tensorboard_writer(run, training.tensorboard)

    if resume:
        state, carried = _restore(run, checkpoint, network, optimizer, scheduler, device)
        run.truncate_metrics(state.step)
        if state.finished:
            return FitResult(
                network, state.step, state.epoch, "already_finished", _last_validation(run)
            )
        display.message(f"resuming {run.path} at step {state.step}")
    elif run is not None:
        task.save(run.path)

    display.start(training.max_steps, state.step)
    window_start = time.perf_counter()
    run_start = clock = time.perf_counter()
    last_validation: dict[str, float] = {}
    network.train()
    try:
        while state.finished is None:
            units = plan_epoch(
                splits["train"], task.stream, training.batch_size, training.bptt,
                training.chunk_length, epoch_generator(training.seed, state.epoch),
            )  # fmt: skip
            while state.unit < len(units) and state.finished is None:
                unit = units[state.unit]
                if unit.reset:
                    carried = None
                x, y = unit.x.to(device), unit.y.to(device)
                mask = None if unit.mask is None else unit.mask.to(device)
                state.unit += 1
                if mask is not None and not mask.any():
                    # Nothing to learn in this chunk (the target comes later): only carry on.
                    with torch.no_grad():
                        _, carried = network(x, carried)
                    continue

                # -- one update ---------------------------------------------------------
                outputs, new_state = forward(
                    network, x, y, carried, unit.lengths, training.teacher_forcing, task.loss
                )
                loss = TARGET_LOSSES[task.targets](
                    outputs, y, mask, task.loss, class_weights, training.label_smoothing
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = _gradient_norm(network, training.clip_grad_norm)
                state.step += 1
                if not (math.isfinite(loss.item()) and math.isfinite(grad_norm)):
                    if training.on_nonfinite == "stop":
                        raise TrainingDivergedError(
                            _divergence_message(run, state.step, loss, grad_norm)
                        )
                    state.skipped += 1  # skip: no update, and the state from before this batch
                else:
                    optimizer.step()
                    scheduler.step()
                    carried = detach_state(new_state)
                    state.window_loss += loss.item()
                    state.window_grad_norm += grad_norm
                    state.window_updates += 1
                    state.window_tokens += x.shape[0] * x.shape[1]

                # -- bookkeeping outside the update ------------------------------------------
                if state.step >= training.max_steps:
                    state.finished = "max_steps"
                now = time.perf_counter()
                state.seconds += now - clock
                clock = now
                if training.max_minutes is not None and state.seconds >= 60 * training.max_minutes:
                    state.finished = state.finished or "max_minutes"
                if state.step % training.log_every == 0:
                    elapsed = time.perf_counter() - window_start
                    record = _log_record(state, optimizer, elapsed, time.perf_counter() - run_start)
                    window_start = time.perf_counter()
                    log(record)
                    display.update(record)
                    _write_tensorboard(writer, record)
                if state.step % training.eval_every == 0 or state.finished:
                    last_validation = _validate(log, network, task, splits, state, training, device)
                    display.update({"step": state.step, "epoch": state.epoch, **last_validation})
                    _write_tensorboard(writer, {"step": state.step, **last_validation})
                for callback in callbacks:
                    callback("step", state, network)
                interrupted = should_stop()
                due = state.step % training.checkpoint_every == 0 or state.finished or interrupted
                if due and run is not None:
                    _save(run, state, carried, network, optimizer, scheduler, training)
                if interrupted:
                    if run is not None:
                        display.message(
                            f"interrupted at step {state.step}; checkpoint saved. "
                            f"Continue with: rnnlab resume {run.path}"
                        )
                    return FitResult(
                        network, state.step, state.epoch, "interrupted", last_validation, history
                    )

            if state.unit >= len(units):
                state.epoch += 1
                state.unit = 0
                if training.max_epochs is not None and state.epoch >= training.max_epochs:
                    state.finished = "max_epochs"
                    last_validation = _validate(log, network, task, splits, state, training, device)
                    if run is not None:
                        _save(run, state, carried, network, optimizer, scheduler, training)
    finally:
        display.close()
        if writer is not None:
            writer.close()
    return FitResult(network, state.step, state.epoch, state.finished, last_validation, history)


class _Log:
    """Where metrics records go: the run's ``metrics.jsonl`` (if there is a run) and the
    result's history."""

    def __init__(self, run: RunDirectory | None, history: list[dict]) -> None:
        self.run, self.history = run, history

    def __call__(self, record: dict) -> None:
        self.history.append(record)
        if self.run is not None:
            self.run.append_metrics(record)


def _gradient_norm(network: nn.Module, clip: float | None) -> float:
    parameters = [p for p in network.parameters() if p.grad is not None]
    if clip is not None:
        return float(torch.nn.utils.clip_grad_norm_(parameters, clip))
    return float(torch.nn.utils.get_total_norm([p.grad for p in parameters]))


def _validate(log, network, task, splits, state: TrainState, training, device) -> dict:
    """Validate, log the record, and update early stopping."""
    metrics = {
        f"val_{k}": v
        for k, v in evaluate_split(network, task, splits["val"], device, "val").items()
    }
    log({"step": state.step, "epoch": state.epoch, **metrics})
    if training.early_stopping_patience is not None or training.stop_below is not None:
        name = training.early_stopping_metric
        if name not in metrics:
            raise ConfigError(
                f"training.early_stopping_metric {name!r} is not measured by task "
                f"{task.name!r}; valid: {', '.join(metrics)}"
            )
        if training.stop_below is not None and metrics[name] < training.stop_below:
            state.finished = state.finished or "target_reached"
        if state.best is None or metrics[name] < state.best:
            state.best, state.evals_since_best = metrics[name], 0
        elif training.early_stopping_patience is not None:
            state.evals_since_best += 1
            if state.evals_since_best >= training.early_stopping_patience:
                state.finished = state.finished or "early_stopping"
    return metrics


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


def _save(run, state: TrainState, carried, network, optimizer, scheduler, training) -> None:
    optimizer_tensors, optimizer_meta = optimizer_state_to_tensors(optimizer.state_dict())
    training_state = {**optimizer_tensors, "rng.torch": torch.get_rng_state()}
    if carried is not None:
        for k, part in enumerate(state_tensors(carried)):
            training_state[f"carried.{k}"] = part.detach().cpu()
    meta = {
        "state": asdict(state),
        "optimizer": optimizer_meta,
        "scheduler": scheduler.state_dict(),
    }
    save_checkpoint(
        run.checkpoints, state.step, {k: v.cpu() for k, v in network.state_dict().items()},
        training_state, meta, keep=training.keep_checkpoints,
    )  # fmt: skip


def _restore(run, name, network, optimizer, scheduler, device):
    if name is None and latest_checkpoint(run.checkpoints) is None:
        raise RnnlabError(f"{run.path} has no checkpoint to resume from")
    checkpoint = load_checkpoint(run.checkpoints, name)
    network.load_state_dict(checkpoint.model_state)
    tensors = checkpoint.training_state
    optimizer.load_state_dict(optimizer_state_from_tensors(tensors, checkpoint.meta["optimizer"]))
    scheduler.load_state_dict(checkpoint.meta["scheduler"])
    torch.set_rng_state(tensors["rng.torch"])
    parts = tuple(tensors[f"carried.{k}"].to(device) for k in range(2) if f"carried.{k}" in tensors)
    carried = state_from_tensors(parts) if parts else None
    return TrainState(**checkpoint.meta["state"]), carried


def _last_validation(run: RunDirectory) -> dict:
    records = [r for r in run.read_metrics() if "val_loss" in r]
    return {k: v for k, v in records[-1].items() if k.startswith("val_")} if records else {}


def _divergence_message(run: RunDirectory | None, step: int, loss, grad_norm: float) -> str:
    latest = None if run is None else latest_checkpoint(run.checkpoints)
    kept = f"the last good checkpoint is {latest}" if latest else "no checkpoint was written yet"
    return (
        f"training stopped at step {step}: the loss is {loss.item()} and the gradient norm "
        f"{grad_norm}; {kept}. Lower training.lr, set training.clip_grad_norm, or set "
        f'training.on_nonfinite = "skip"'
    )


def _tensorboard_writer(run: RunDirectory, enabled: bool):
    if not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError(
            "training.tensorboard = true needs the tensorboard package (pip install tensorboard)"
        ) from None
    return SummaryWriter(str(run.path / "tensorboard"))


def _write_tensorboard(writer, record: dict) -> None:
    if writer is None:
        return
    for key, value in record.items():
        if key not in ("step", "epoch") and isinstance(value, int | float):
            writer.add_scalar(key, value, record["step"])
