"""Validation: a network's loss and metrics on a whole split, in evaluation mode.

The :class:`rnnlab.train.callbacks.Validation` callback calls :func:`evaluate_split` during
training; ``rnnlab evaluate`` (:mod:`rnnlab.train.evaluation`) and the replications call it on
trained networks.
"""

from contextlib import contextmanager

import torch
from torch import nn

from rnnlab.evaluation import evaluation_of
from rnnlab.losses import TARGET_LOSSES, predictions_from_outputs
from rnnlab.models.ensemble import Ensemble
from rnnlab.tasks.base import Split, Task
from rnnlab.tasks.member_tasks import MemberTasks


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
    metrics = {
        "loss": float(
            TARGET_LOSSES[task.targets](outputs, split.y.to(outputs.device), mask, task.loss)
        )
    }
    metrics.update(task.metrics(predictions_from_outputs(outputs, task.loss).cpu(), split))
    return metrics


def evaluate_split(
    network: nn.Module, task: Task, split: Split, device: str = "cpu", name: str | None = None
) -> dict:
    """Loss and task metrics of ``network`` on a whole split, in evaluation mode; with the
    split's ``name``, also the quick metrics that need the network (see
    ``quick`` in :mod:`rnnlab.evaluation`).

    An :class:`~rnnlab.models.ensemble.Ensemble` is evaluated member by member (each as it
    would be alone): the result holds the mean over the members of every metric, and under
    ``"members"`` each member's metrics. With :class:`~rnnlab.tasks.member_tasks.MemberTasks`
    and ``split`` the members' splits (a value of its ``splits()``), member k is evaluated on
    task k's split."""
    if isinstance(task, MemberTasks):  # member k on its own task's split
        if not isinstance(network, Ensemble) or len(network) != len(task):
            raise ValueError(
                f"MemberTasks of {len(task)} members evaluate an Ensemble of as many; got "
                f"{type(network).__name__}"
            )
        each = [
            evaluate_split(m, t, s, device, name)
            for m, t, s in zip(network.members(), task.tasks, split, strict=True)
        ]
        mean = {k: sum(m[k] for m in each) / len(each) for k in each[0]}
        return {**mean, "members": each}
    if isinstance(network, Ensemble):
        each = [evaluate_split(m, task, split, device, name) for m in network.members()]
        mean = {k: sum(m[k] for m in each) / len(each) for k in each[0]}
        return {**mean, "members": each}
    if task.targets == "sequence":
        metrics = {"loss": sequence_loss(network, task, split, device)}
    else:
        metrics = metrics_of_outputs(split_outputs(network, split, device), task, split)
    quick = evaluation_of(task).quick
    if name is not None and quick is not None:
        with evaluation_mode(network):
            metrics.update(quick(task, network, name))
    return metrics
