"""The callbacks every run is trained with: validation, early stopping, checkpoints, TensorBoard,
and the stop a signal asks for.

:func:`rnnlab.train.fit` builds them from the ``[training]`` config (:func:`standard_callbacks`)
and calls them in this order after every update: the user's callbacks, validation (which
passes its metrics to early stopping), the stop request, checkpoints. So a user's callback that
ends training (``loop.state.finished = "why"``) gets a validation and a checkpoint of that step,
a callback that wants the validations has ``on_validation``, and a checkpoint holds what the
validation of its step decided.
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict

import torch

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.layers import own_noise, state_from_tensors, state_tensors
from rnnlab.train.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    optimizer_state_from_tensors,
    optimizer_state_to_tensors,
    save_checkpoint,
)
from rnnlab.train.loop import Callback, Loop, TrainState
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.validation import evaluate_split


class Validation(Callback):
    """Validate on the ``"val"`` split every ``training.eval_every`` updates, when training
    finishes, and at the end of the last epoch; log the record (names ``val_...``) and pass the
    metrics on (:meth:`Loop.validated`)."""

    def on_step(self, loop: Loop) -> None:
        if loop.state.step % loop.training.eval_every == 0 or loop.state.finished:
            self.validate(loop)

    def on_epoch(self, loop: Loop) -> None:
        if loop.state.finished == "max_epochs":
            self.validate(loop)

    @staticmethod
    def validate(loop: Loop) -> None:
        split = loop.splits["val"]
        metrics = {
            f"val_{k}": v
            for k, v in evaluate_split(loop.network, loop.task, split, loop.device, "val").items()
        }
        if "val_members" in metrics:  # an ensemble's: each member's metrics, also val_ names
            metrics["val_members"] = [
                {f"val_{k}": v for k, v in member.items()} for member in metrics["val_members"]
            ]
        loop.record({"step": loop.state.step, "epoch": loop.state.epoch, **metrics})
        loop.validated(metrics)


class EarlyStopping(Callback):
    """Finish when ``training.early_stopping_metric`` falls below ``training.stop_below``
    (reason ``"target_reached"``), or has not improved for ``training.early_stopping_patience``
    validations (``"early_stopping"``). The best value and the count since are in the
    :class:`TrainState`, so a resumed run stops where an uninterrupted one would.

    An ensemble's members stop one by one: a member that meets the condition is frozen
    (``TrainState.frozen``: its weights no longer change) while the rest go on, and training
    finishes when every member has stopped.
    """

    def on_validation(self, loop: Loop, metrics: dict[str, float]) -> None:
        training, state = loop.training, loop.state
        name = training.early_stopping_metric
        if name not in metrics:
            measured = [k for k in metrics if k != "val_members"]
            raise ConfigError(
                f"training.early_stopping_metric {name!r} is not measured by task "
                f"{loop.task.name!r}; valid: {', '.join(measured)}"
            )
        if "val_members" not in metrics:
            best, since, reason = _stopping(
                training, metrics[name], state.best, state.evals_since_best
            )
            state.best, state.evals_since_best = best, since
            if reason is not None:
                state.finished = state.finished or reason
            return
        members = metrics["val_members"]
        if state.member_best is None:
            state.member_best = [None] * len(members)
            state.member_evals_since_best = [0] * len(members)
        reason = None
        for k, member in enumerate(members):
            if k in state.frozen:
                continue
            best, since, reason_k = _stopping(
                training, member[name], state.member_best[k], state.member_evals_since_best[k]
            )
            state.member_best[k], state.member_evals_since_best[k] = best, since
            if reason_k is not None:
                state.frozen.append(k)
                reason = reason_k
        if len(state.frozen) == len(members):
            state.finished = state.finished or reason


def _stopping(training, value: float, best: float | None, since: int):
    """Early stopping's bookkeeping after one validation: (best, validations since the best,
    the reason to stop or None)."""
    reason = None
    if training.stop_below is not None and value < training.stop_below:
        reason = "target_reached"
    if best is None or value < best:
        best, since = value, 0
    elif training.early_stopping_patience is not None:
        since += 1
        if since >= training.early_stopping_patience:
            reason = reason or "early_stopping"
    return best, since, reason


class StopWhen(Callback):
    """Ask the loop to checkpoint and return (reason ``"interrupted"``) once ``should_stop()``
    is true; :class:`rnnlab.train.interrupt.StopOnSignals` is such a function."""

    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop

    def on_step(self, loop: Loop) -> None:
        if self.should_stop():
            loop.interrupted = True


class Checkpoints(Callback):
    """Save a checkpoint into the run every ``training.checkpoint_every`` updates, when training
    finishes or is interrupted, and at the end of the last epoch: the weights, the optimiser and
    schedule, the torch random generator, the carried state and the :class:`TrainState`, so
    that :func:`restore` continues exactly."""

    def on_step(self, loop: Loop) -> None:
        state = loop.state
        if state.step % loop.training.checkpoint_every == 0 or state.finished or loop.interrupted:
            save(loop)

    def on_epoch(self, loop: Loop) -> None:
        if loop.state.finished == "max_epochs":
            save(loop)


class TensorBoard(Callback):
    """Write every numeric value of every metrics record to ``tensorboard/`` in the run."""

    def __init__(self, run: RunDirectory) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "training.tensorboard = true needs the tensorboard package "
                "(pip install tensorboard)"
            ) from None
        self.writer = SummaryWriter(str(run.path / "tensorboard"))

    def on_record(self, loop: Loop, record: dict) -> None:
        for key, value in record.items():
            if key not in ("step", "epoch") and isinstance(value, int | float):
                self.writer.add_scalar(key, value, record["step"])

    def on_end(self, loop: Loop) -> None:
        self.writer.close()


def standard_callbacks(
    training, run: RunDirectory | None, user: Sequence[Callback], should_stop
) -> list[Callback]:
    """The callbacks of a run, in the order they act (see the module docstring)."""
    callbacks: list[Callback] = [*user, Validation()]
    if training.early_stopping_patience is not None or training.stop_below is not None:
        callbacks.append(EarlyStopping())
    callbacks.append(StopWhen(should_stop))
    if run is not None:
        callbacks.append(Checkpoints())
        if training.tensorboard:
            callbacks.append(TensorBoard(run))
    return callbacks


def _noise_sources(network) -> list[tuple[str, object]]:
    """The modules of ``network`` that draw noise from a generator of their own
    (:func:`rnnlab.layers.own_noise`), by module name."""
    found = []
    for name, module in network.named_modules():
        source = own_noise(module)
        if source is not None:
            found.append((name or "network", source))
    return found


def save(loop: Loop) -> None:
    """Write a checkpoint of the loop's present state into its run."""
    optimizer_tensors, optimizer_meta = optimizer_state_to_tensors(loop.optimizer.state_dict())
    training_state = {**optimizer_tensors, "rng.torch": torch.get_rng_state()}
    for name, source in _noise_sources(loop.network):  # a CTRNN's own noise generator
        state = source.get_state()
        if state is not None:
            training_state[f"rng.noise.{name}"] = state
    if loop.carried is not None:
        for k, part in enumerate(state_tensors(loop.carried)):
            training_state[f"carried.{k}"] = part.detach().cpu()
    if loop.data_parallel is not None:  # every process's generator and carried state
        training_state.update(loop.data_parallel.replica_tensors())
    meta = {
        "state": asdict(loop.state),
        "optimizer": optimizer_meta,
        "scheduler": loop.scheduler.state_dict(),
    }
    weights = {k: v.cpu() for k, v in loop.network.state_dict().items()}
    save_checkpoint(
        loop.run.checkpoints, loop.state.step, weights, training_state, meta,
        keep=loop.training.keep_checkpoints,
    )  # fmt: skip


def restore(loop: Loop, name: str | None, run: RunDirectory | None = None) -> None:
    """Set the loop (network, optimiser, schedule, random generator, carried state, position)
    from a checkpoint of ``run`` (default: the loop's): the latest, or the one called
    ``name``."""
    run = run or loop.run
    if name is None and latest_checkpoint(run.checkpoints) is None:
        raise RnnlabError(f"{run.path} has no checkpoint to resume from")
    checkpoint = load_checkpoint(run.checkpoints, name)
    loop.network.load_state_dict(checkpoint.model_state)
    tensors = checkpoint.training_state
    loop.optimizer.load_state_dict(
        optimizer_state_from_tensors(tensors, checkpoint.meta["optimizer"])
    )
    loop.scheduler.load_state_dict(checkpoint.meta["scheduler"])
    torch.set_rng_state(tensors["rng.torch"])
    for name, source in _noise_sources(loop.network):
        if f"rng.noise.{name}" in tensors:
            source.set_state(tensors[f"rng.noise.{name}"])
    parts = tuple(
        tensors[f"carried.{k}"].to(loop.device) for k in range(2) if f"carried.{k}" in tensors
    )
    loop.carried = state_from_tensors(parts) if parts else None
    loop.state = TrainState(**checkpoint.meta["state"])
    if loop.data_parallel is not None:  # this process's own generator and carried state
        loop.data_parallel.restore_replica(loop, tensors)
