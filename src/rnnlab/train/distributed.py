"""Data-parallel training: one network trained by W processes together (torch.distributed).

Each process holds a copy of the network wrapped in torch's ``DistributedDataParallel`` (DDP),
which averages the gradients over the processes in every backward pass. What this module adds
to :func:`rnnlab.train.fit` (given ``data_parallel=DataParallel()``) so that W processes with
batch b train exactly as one process with batch W·b:

- **The same global batches.** Each process takes a rank-strided share (rows ``rank``,
  ``rank + W``, ...) of the global batches one process would draw from
  :func:`rnnlab.train.trainer.epoch_generator` (:func:`rnnlab.train.bptt.plan_epoch` with a
  ``shard``). The last ``N mod W`` sequences of each epoch's order are left out, so that every
  process has as many batches: a process that ran out would wait for the others forever.
- **The loss over the global count of targets.** Each process's loss is the sum of its
  per-target losses divided by ``global_count / W`` (the count summed over the processes by
  an ``all_reduce``), so that DDP's average of the gradients is the gradient of the mean over
  all the targets of the global batch. The mean of each process's own mean (``rank_mean``,
  kept to show the difference) weighs the targets of a process with fewer of them more, as
  sequences of different lengths make them (huggingface/transformers #34242,
  pytorch/torchtitan #2206).
- **One decision everywhere.** The loss and gradient norm that decide a non-finite skip or
  stop are reduced over the processes; rank 0 decides when training finishes (validation,
  early stopping and time limits run there) and a stop asked of any process stops them all
  (:class:`Agreement`).
- **Rank 0 writes.** Only rank 0 writes metrics and checkpoints and validates; a checkpoint
  holds every process's carried state (in the global batch's row order) and random generator,
  and on resume every process loads it, so a resumed run continues exactly.

Every parameter must take part in every update (DDP waits for all of their gradients): the
first update checks it and names those that got no gradient. Scheduled sampling
(``teacher_forcing < 1``) is refused: it calls the network outside DDP's ``forward``.

The processes come from :mod:`rnnlab.train.launch` (``rnnlab train --nproc N``, or torchrun).
"""

import math
import os
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.layers import state_from_tensors, state_tensors
from rnnlab.models.ensemble import Ensemble
from rnnlab.train.callbacks import Checkpoints, StopWhen, standard_callbacks
from rnnlab.train.loop import Callback, Loop

Normalisation = Literal["global_tokens", "rank_mean"]

# Rank r > 0 of a fresh run seeds its generator (dropout masks) with seed + r * RANK_SEED_STRIDE:
# every (seed, rank) its own stream, since seeds stop at 2**32 - 1 (rnnlab.tasks.base.MAX_SEED).
RANK_SEED_STRIDE = 2**32


@dataclass(frozen=True)
class World:
    """One process's place among the processes that train together.

    ``rank`` is 0 .. ``size`` - 1 over all machines, ``local_rank`` the place on its machine
    (which GPU it uses). ``should_stop()`` is true once the launcher that started the process
    was asked to stop (:func:`rnnlab.train.launch.launch`).
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    stop: object = field(default=None, repr=False, compare=False)  # a multiprocessing Event

    @property
    def main(self) -> bool:
        """Whether this is rank 0, the process that writes."""
        return self.rank == 0

    def should_stop(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    @classmethod
    def from_environment(cls, environ=os.environ) -> "World | None":
        """The world torchrun describes in the environment (``RANK``, ``WORLD_SIZE``,
        ``LOCAL_RANK``), or None when those are not set."""
        if "WORLD_SIZE" not in environ or "RANK" not in environ:
            return None
        try:
            rank, size = int(environ["RANK"]), int(environ["WORLD_SIZE"])
            local_rank = int(environ.get("LOCAL_RANK", rank))
        except ValueError:
            raise RnnlabError(
                f"RANK, WORLD_SIZE and LOCAL_RANK must be integers; got RANK="
                f"{environ['RANK']!r}, WORLD_SIZE={environ['WORLD_SIZE']!r}, "
                f"LOCAL_RANK={environ.get('LOCAL_RANK')!r}"
            ) from None
        if not 0 <= rank < size:
            raise RnnlabError(f"RANK must be in 0 .. WORLD_SIZE - 1 = {size - 1}; got {rank}")
        return cls(rank, size, local_rank)


def check_training(training) -> None:
    """A :class:`~rnnlab.errors.ConfigError` for a ``[training]`` config that cannot train
    data-parallel (``rnnlab train --nproc`` asks before it creates the run directory)."""
    if training.teacher_forcing < 1:
        raise ConfigError(
            "training.teacher_forcing < 1 (scheduled sampling) calls the network outside "
            "DistributedDataParallel; data-parallel training needs teacher_forcing = 1"
        )


@dataclass(frozen=True)
class TargetCount:
    """The targets (steps where the loss applies) of one process's batch and of the global
    batch, and what :func:`rnnlab.losses.masked_loss` divides by (the targets, or the sum of
    their class weights)."""

    tokens: float
    weight: float
    global_tokens: float
    global_weight: float
    steps: int  # input steps (B * T) of the global batch, for the log's tokens per second


class _Replicated(DistributedDataParallel):
    """DDP that answers ``needs_targets`` as the network it wraps does (an encoder-decoder
    reads the targets; :func:`rnnlab.train.validation.forward` asks)."""

    @property
    def needs_targets(self) -> bool:
        return getattr(self.module, "needs_targets", False)


class DataParallel:
    """What :func:`rnnlab.train.fit` needs to train one network in each process of an
    initialised ``torch.distributed`` process group (one for each call of ``fit``); see the
    module docstring.

    Args:
        loss_normalisation: ``"global_tokens"`` (the exact one: the same objective as one
            process with the global batch) or ``"rank_mean"`` (each process's own mean, then
            DDP's average: the usual mistake, kept to show that it differs).
    """

    def __init__(self, loss_normalisation: Normalisation = "global_tokens") -> None:
        if not dist.is_available() or not dist.is_initialized():
            raise RnnlabError(
                "DataParallel needs an initialised torch.distributed process group: start the "
                "processes with rnnlab.train.launch.launch (rnnlab train --nproc N) or torchrun"
            )
        if loss_normalisation not in ("global_tokens", "rank_mean"):
            raise ValueError(
                f"loss_normalisation must be 'global_tokens' or 'rank_mean'; "
                f"got {loss_normalisation!r}"
            )
        self.loss_normalisation = loss_normalisation
        self.rank = dist.get_rank()
        self.size = dist.get_world_size()
        nccl = dist.get_backend() == "nccl"
        self.device = torch.device("cuda", torch.cuda.current_device()) if nccl else None
        self._network: nn.Module | None = None  # the plain network (:meth:`wrap`)
        self._checked = False  # whether every parameter was seen to get a gradient
        self._replicas: dict[str, torch.Tensor] = {}  # rank 0: what the next checkpoint adds

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def shard(self) -> tuple[int, int]:
        """This process's share of each global batch, for :func:`rnnlab.train.bptt.plan_epoch`."""
        return self.rank, self.size

    # -- before training -------------------------------------------------------------------

    def callbacks(self, training, run, user, should_stop) -> list[Callback]:
        """The callbacks of this process: rank 0 has the standard ones; every process has the
        user's, the stop request and the :class:`Agreement`, which acts just before rank 0's
        checkpoint. ``run`` is the same directory in every process (only rank 0 writes)."""
        if self.main:
            callbacks = standard_callbacks(training, run, user, should_stop)
        else:
            callbacks = [*user, StopWhen(should_stop)]
        at = next(
            (k for k, c in enumerate(callbacks) if isinstance(c, Checkpoints)), len(callbacks)
        )
        return [*callbacks[:at], Agreement(self, checkpointing=run is not None), *callbacks[at:]]

    def start(self, loop: Loop, resumed: bool) -> None:
        """Refuse what cannot train data-parallel, seed the generators of ranks above 0 on a
        fresh run, and say how the data is shared (on rank 0)."""
        training, split = loop.training, loop.splits["train"]
        check_training(training)
        if isinstance(loop.network, Ensemble):
            raise ConfigError(
                "an Ensemble trains its members in one process (they share each step); "
                "data-parallel training takes one network"
            )
        count = split.x.shape[0]
        if not loop.task.stream and count < self.size:
            raise ConfigError(
                f"the training split has {count} sequences; {self.size} processes need at "
                f"least one each"
            )
        if not resumed and self.rank > 0:
            torch.manual_seed(training.seed + self.rank * RANK_SEED_STRIDE)
        b = training.batch_size
        what = "streams" if loop.task.stream else "sequences"
        line = f"data-parallel: {self.size} processes x batch {b} = {self.size * b} {what} a step"
        left_out = 0 if loop.task.stream else count % self.size
        if left_out:
            line += (
                f"; each epoch leaves out the last {left_out} of its {count} shuffled training "
                f"sequences, so that every process has as many batches"
            )
        loop.display.message(line)
        self._replicas = {}

    def wrap(self, network: nn.Module, device: str) -> nn.Module:
        """The network inside DDP: what the training forward and backward go through (the
        loop's ``network`` stays the plain module: validation and checkpoints use it). DDP
        starts every process from rank 0's parameters."""
        self._network = network
        device = torch.device(device)
        if device.type != "cuda":
            return _Replicated(network)
        index = torch.cuda.current_device() if device.index is None else device.index
        return _Replicated(network, device_ids=[index])

    # -- in every update -------------------------------------------------------------------

    def count_targets(self, targets: str, x, y, mask, loss: str, class_weights) -> TargetCount:
        """The targets of this process's batch and of the global one (one ``all_reduce``).

        The weight is what the loss of the task's kind of ``targets``
        (:data:`rnnlab.losses.TARGET_LOSSES`) divides its sum by: the count of masked steps
        (every step without a mask; one per sequence with a target per sequence), or the sum
        of their class weights.
        """
        if targets == "per_sequence":
            tokens = float(y.shape[0])
            weight = tokens if class_weights is None else float(class_weights[y].sum())
        else:
            tokens = float(y.shape[0] * y.shape[1]) if mask is None else float(mask.sum())
            weight = tokens
            if loss == "cross_entropy" and class_weights is not None:
                weights = class_weights[y] if mask is None else class_weights[y] * mask
                weight = float(weights.sum())
        counts = self._all_reduce([tokens, weight, float(x.shape[0] * x.shape[1])])
        return TargetCount(tokens, weight, counts[0], counts[1], int(counts[2]))

    def share(self, loss_of, count: TargetCount):
        """The loss function of this process (``outputs -> loss``): ``loss_of`` (the mean
        over its own targets) made its share of the global batch's mean (:meth:`normalise`)."""
        return lambda outputs: self.normalise(loss_of(outputs), outputs, count)

    def normalise(self, loss: torch.Tensor, outputs: torch.Tensor, count: TargetCount):
        """This process's share of the loss, whose gradient DDP averages: ``loss`` (the mean
        over its own targets) times ``W * weight / global_weight`` is its sum over
        ``global_weight / W``."""
        if self.loss_normalisation == "rank_mean":
            return loss
        if count.global_weight == 0:  # no weight anywhere: NaN, as in one process
            return loss
        if count.weight == 0:  # no target here (the mean is NaN): a zero in the same graph
            return outputs.sum() * 0.0
        return loss * (self.size * count.weight / count.global_weight)

    def check_gradients(self, network: nn.Module) -> None:
        """After the first backward pass: every parameter got a gradient, or a clear error."""
        if self._checked:
            return
        missing = [n for n, p in network.named_parameters() if p.requires_grad and p.grad is None]
        if missing:
            raise RnnlabError(
                f"data-parallel training needs every parameter to take part in each update "
                f"(DistributedDataParallel waits for all of their gradients); no gradient "
                f"reached {', '.join(missing)}"
            )
        self._checked = True

    def agree(self, loss: float, grad_norm: float) -> tuple[float, float]:
        """After the backward pass (:func:`rnnlab.train.update.update`): the loss of the global
        batch and the gradient norm (NaN if it is not finite in some process), the same in
        every process (one ``all_reduce``), so that a non-finite value skips or stops every
        process alike. The first time, it also checks that every parameter got a gradient."""
        self.check_gradients(self._network)
        nonfinite = 0.0 if math.isfinite(grad_norm) else 1.0
        total = self._all_reduce([loss, nonfinite])
        return total[0] / self.size, math.nan if total[1] else grad_norm

    def barrier(self) -> None:
        """Wait until every process is here (rank 0's last checkpoint is whole)."""
        if self.device is None:
            dist.barrier()
        else:
            dist.barrier(device_ids=[self.device.index])

    def _all_reduce(self, values: list[float]) -> list[float]:
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    # -- checkpoints ----------------------------------------------------------------------

    def gather_replicas(self, loop: Loop) -> None:
        """Before a checkpoint (every process): rank 0 collects every process's carried state,
        put back in the global batch's row order, and random generator."""
        carried = None if loop.carried is None else state_tensors(loop.carried)
        mine = (None if carried is None else [p.detach().cpu() for p in carried],
                torch.get_rng_state())  # fmt: skip
        every = [None] * self.size
        dist.all_gather_object(every, mine)
        if not self.main:
            return
        replicas = {f"rng.torch.rank{r}": rng for r, (_, rng) in enumerate(every)}
        if carried is not None:
            for k in range(len(carried)):
                parts = [state[k] for state, _ in every]  # (L * D, b_r, H) each
                whole = parts[0].new_empty(parts[0].shape[0], sum(p.shape[1] for p in parts),
                                           *parts[0].shape[2:])  # fmt: skip
                for r, part in enumerate(parts):
                    whole[:, r :: self.size] = part
                replicas[f"carried.{k}"] = whole
        self._replicas = replicas

    def replica_tensors(self) -> dict[str, torch.Tensor]:
        """What rank 0's checkpoint holds besides its own state: every process's generator
        (``rng.torch.rank{r}``) and the carried state of the global batch (``carried.{k}``)."""
        return self._replicas

    def restore_replica(self, loop: Loop, tensors: dict[str, torch.Tensor]) -> None:
        """After :func:`rnnlab.train.callbacks.restore` (every process): this process's share
        of the carried state, and its own generator."""
        rng = tensors.get(f"rng.torch.rank{self.rank}")
        if rng is not None:
            torch.set_rng_state(rng)
        if loop.carried is not None:
            parts = state_tensors(loop.carried)
            loop.carried = state_from_tensors(tuple(p[:, self.rank :: self.size] for p in parts))


class Agreement(Callback):
    """Every process follows rank 0's decision to finish (its validation, early stopping and
    clock decide) and stops when any process is asked to (a signal, a callback); before a
    checkpoint, rank 0 gathers what every process carries (:meth:`DataParallel.gather_replicas`).
    It acts in every process just before rank 0's checkpoint."""

    def __init__(self, parallel: DataParallel, checkpointing: bool) -> None:
        self.parallel = parallel
        self.checkpointing = checkpointing

    def on_step(self, loop: Loop) -> None:
        state = loop.state
        every = [None] * self.parallel.size
        dist.all_gather_object(every, (state.finished, loop.interrupted, self.checkpointing))
        if len({checkpointing for _, _, checkpointing in every}) > 1:  # else gathers would hang
            raise RnnlabError(
                "every process of a data-parallel fit must be given the same run directory "
                "(rank 0 alone writes in it); some were given none"
            )
        state.finished = every[0][0]
        loop.interrupted = any(interrupted for _, interrupted, _ in every)
        due = state.step % loop.training.checkpoint_every == 0 or state.finished
        if self.checkpointing and (due or loop.interrupted):
            self.parallel.gather_replicas(loop)

    def on_epoch(self, loop: Loop) -> None:
        if self.checkpointing and loop.state.finished == "max_epochs":
            self.parallel.gather_replicas(loop)
