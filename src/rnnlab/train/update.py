"""One optimiser update on one batch: the loss, its gradient, clipping, the non-finite check.

For an :class:`~rnnlab.models.ensemble.Ensemble` every member gets what it would get alone:
the loss is the sum of the members' own losses (so each member's gradient is its own), the
gradient is clipped per member, a member whose loss or gradient is not finite is skipped
alone (``on_nonfinite = "skip"``), and members that early stopping froze
(``TrainState.frozen``) keep their weights and optimiser state while the rest go on.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from rnnlab.models.ensemble import Ensemble
from rnnlab.train.bptt import detach_state


@dataclass(frozen=True)
class Update:
    """What one update did: its loss and gradient norm (for an ensemble: the means over the
    members updated), and the members whose loss or gradient was not finite (``[0]`` for a
    plain network that was skipped)."""

    loss: float
    grad_norm: float
    nonfinite: list[int]
    applied: bool  # False when nothing was updated


def update(
    network: nn.Module,
    optimizer: torch.optim.Optimizer,
    outputs: torch.Tensor,
    loss_of: Callable[[torch.Tensor], torch.Tensor],
    clip: float | None,
    frozen: list[int],
    agree: Callable[[float, float], tuple[float, float]] | None = None,
) -> Update:
    """Back-propagate ``loss_of(outputs)`` and step ``optimizer`` unless a value is not finite.

    The caller raises or skips on ``nonfinite`` as the config says: a plain network's update is
    not applied when its loss or gradient is not finite; an ensemble's finite members are.
    In data-parallel training, ``agree(loss, grad_norm)`` gives the loss and gradient norm of
    the global batch, the same in every process (:meth:`rnnlab.train.distributed.DataParallel.
    agree`), so that every process makes the same decision.
    """
    if isinstance(network, Ensemble):
        if agree is not None:
            raise ValueError("an Ensemble trains in one process; agree must be None")
        return _ensemble_update(network, optimizer, outputs, loss_of, clip, frozen)
    loss = loss_of(outputs)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = _gradient_norm(network, clip)
    value = loss.item()
    if agree is not None:
        value, grad_norm = agree(value, grad_norm)
    if not (math.isfinite(value) and math.isfinite(grad_norm)):
        return Update(value, grad_norm, [0], applied=False)
    optimizer.step()
    return Update(value, grad_norm, [], applied=True)


def _gradient_norm(network: nn.Module, clip: float | None) -> float:
    parameters = [p for p in network.parameters() if p.grad is not None]
    if clip is not None:
        return float(torch.nn.utils.clip_grad_norm_(parameters, clip))
    return float(torch.nn.utils.get_total_norm([p.grad for p in parameters]))


def _ensemble_update(network, optimizer, outputs, loss_of, clip, frozen) -> Update:
    N = len(network)
    # One loss function for all members, or one per member (each its own targets)
    each = loss_of if isinstance(loss_of, list) else [loss_of] * N
    losses = torch.stack([each[k](outputs[k]) for k in range(N)])  # (N,)
    optimizer.zero_grad(set_to_none=True)
    losses.sum().backward()
    parameters = [p for p in network.parameters() if p.grad is not None]
    norms = member_gradient_norms(parameters, N)  # (N,)
    if clip is not None:  # per member, as torch.nn.utils.clip_grad_norm_ clips one network
        scale = (clip / (norms + 1e-6)).clamp(max=1.0)
        for p in parameters:
            p.grad.mul_(scale.view(N, *([1] * (p.dim() - 1))).to(p.grad.dtype))
    finite = torch.isfinite(losses.detach()) & torch.isfinite(norms)
    nonfinite = [k for k in range(N) if not finite[k]]
    held = sorted(set(frozen) | set(nonfinite))
    updated = [k for k in range(N) if k not in held]
    if not updated:
        return Update(float("nan"), float("nan"), nonfinite, applied=False)
    for p in parameters:  # a member that is held gets no update from its gradient either
        if held:
            p.grad[held] = 0
    kept = _keep(network, optimizer, held)
    optimizer.step()
    _put_back(kept)
    return Update(
        float(losses.detach()[updated].mean()),
        float(norms[updated].mean()),
        nonfinite,
        applied=True,
    )


def member_gradient_norms(parameters: list[torch.Tensor], n: int) -> torch.Tensor:
    """The Euclidean norm of each member's whole gradient (N,), as
    ``torch.nn.utils.get_total_norm`` computes it for one network: the norm of the norms of
    its parameters' gradients."""
    per_parameter = torch.stack(
        [torch.linalg.vector_norm(p.grad.reshape(n, -1), dim=1) for p in parameters], dim=1
    )  # (N, parameters)
    return torch.linalg.vector_norm(per_parameter, dim=1)


def _keep(network: Ensemble, optimizer, members: list[int]) -> list[tuple[torch.Tensor, ...]]:
    """Copies of the held members' parameters and optimiser state, to put back after a step
    (an optimiser with momentum would move them even with a zero gradient)."""
    if not members:
        return []
    index = torch.tensor(members)
    kept = []
    for p in network.parameters():
        kept.append((p, index, p.detach()[index].clone()))
        for value in optimizer.state.get(p, {}).values():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape == p.shape:
                kept.append((value, index, value[index].clone()))
    return kept


@torch.no_grad()
def _put_back(kept) -> None:
    for tensor, index, values in kept:
        tensor.data[index] = values


def carry(new_state, old_state, held: list[int]):
    """The state to carry into the next chunk, detached: the new one, except for members
    whose update was skipped (``held``), which keep the state from before the batch."""
    new_state = detach_state(new_state)
    if not held or new_state is None:
        return new_state
    index = torch.tensor(held)

    def keep(new: torch.Tensor, old: torch.Tensor | None) -> torch.Tensor:
        new = new.clone()
        new[index] = 0 if old is None else old[index]
        return new

    if isinstance(new_state, torch.Tensor):
        return keep(new_state, old_state)
    olds = [None] * len(new_state) if old_state is None else list(old_state)
    return type(new_state)(*(keep(n, o) for n, o in zip(new_state, olds)))
