"""Backpropagation through time: how a split is cut into updates, and where state is detached.

Full BPTT backpropagates through whole sequences. Truncated BPTT cuts them into chunks of
``chunk_length`` steps; the state is carried from one chunk to the next (so the network still
*sees* the whole past) but gradients stop at the chunk boundary. Online learning, as in Elman
(1990), is truncated BPTT with chunks of one step: an update after every input, the gradient
truncated after one step (the context is treated as an input).

A stream task's single long sequence is cut into ``batch_size`` parallel streams, each read in
order, with the state carried across all chunks of an epoch (stateful batches, as char-rnn).
A sequence task's sequences are shuffled into minibatches; the state is carried across the
chunks of one minibatch and reset for the next.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from rnnlab.tasks.base import Split


@dataclass(frozen=True)
class Unit:
    """The data of one update: x (B, T, I), y, mask (B, T) or None, whether the state
    starts afresh (True) or continues from the previous unit (False), and the sequences'
    lengths (B,) or None."""

    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor | None
    reset: bool
    lengths: torch.Tensor | None = None


def detach_state(state):
    """Cut the gradient path into the past: the one place truncated BPTT detaches the state.

    The values are kept, so the next chunk continues from them; only the graph is dropped.
    Works for a tensor state and for ``LSTMState(h, c)``.
    """
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return type(state)(*(part.detach() for part in state))


def chunk_length_for(bptt: str, chunk_length: int | None, seq_len: int) -> int:
    """Steps per update: all of them (full), ``chunk_length`` (truncated) or one (online)."""
    if bptt == "full":
        return seq_len
    if bptt == "online":
        return 1
    return chunk_length


def plan_epoch(
    split: Split,
    stream: bool,
    batch_size: int,
    bptt: str,
    chunk_length: int | None,
    generator: torch.Generator,
    shard: tuple[int, int] = (0, 1),
) -> list[Unit]:
    """Every update of one epoch, in order. Deterministic given ``generator``'s seed.

    ``shard = (rank, W)`` plans the share of process ``rank`` of W training one network
    together (:mod:`rnnlab.train.distributed`): the epoch's global batches are those of one
    process with batch ``W * batch_size``, and each process takes rows ``rank``, ``rank + W``,
    ... of each, so that W processes draw the same global batches as one (the stride of torch's
    ``DistributedSampler``). The last ``N mod W`` sequences of the shuffled order are left out,
    so that every process has as many batches and none is empty (a process without a batch
    would wait for the others forever); a stream is cut into ``W * batch_size`` parallel streams.
    """
    rank, world = shard
    global_batch = batch_size * world
    if stream:
        streams = _parallel_streams(split, global_batch)
        batches = [streams if world == 1 else _rows(streams, slice(rank, None, world))]
    else:
        order = torch.randperm(split.x.shape[0], generator=generator)
        order = order[: len(order) - len(order) % world]
        batches = [
            _take(split, order[k : k + global_batch][rank::world])
            for k in range(0, len(order), global_batch)
        ]
    units = []
    for batch in batches:
        if batch.lengths is not None:
            if bptt != "full":
                raise ValueError(
                    f"sequences of different lengths need bptt = 'full'; got bptt = {bptt!r}"
                )
            units.append(Unit(batch.x, batch.y, batch.mask, reset=True, lengths=batch.lengths))
            continue
        T = batch.x.shape[1]
        step = chunk_length_for(bptt, chunk_length, T)
        for start in range(0, T, step):
            window = slice(start, start + step)
            mask = None if batch.mask is None else batch.mask[:, window]
            units.append(Unit(batch.x[:, window], batch.y[:, window], mask, reset=start == 0))
    return units


def plan_member_epoch(
    splits: Sequence[Split],
    stream: bool,
    batch_size: int,
    bptt: str,
    chunk_length: int | None,
    generators: Sequence[torch.Generator],
) -> list[Unit]:
    """The epoch of an ensemble whose members train on data of their own
    (:class:`rnnlab.tasks.member_tasks.MemberTasks`): member k's split planned by
    :func:`plan_epoch` with its own generator, as it would be alone, and the members' units
    stacked member-first (x (N, B, T, ...), y (N, B, ...), mask (N, B, T), lengths (N, B)).
    The members' plans must have the same units and shapes."""
    plans = [
        plan_epoch(split, stream, batch_size, bptt, chunk_length, generator)
        for split, generator in zip(splits, generators, strict=True)
    ]
    if len({len(plan) for plan in plans}) != 1:
        raise ValueError(
            f"the members' data must make the same number of updates per epoch; got "
            f"{[len(plan) for plan in plans]}"
        )
    units = []
    for parts in zip(*plans):
        shapes = sorted({(tuple(u.x.shape), tuple(u.y.shape)) for u in parts})
        if len(shapes) != 1:
            raise ValueError(
                f"the members' batches must have one shape (x, y); got {shapes}: give the "
                f"members' tasks the same sizes"
            )
        masks = [u.mask for u in parts]
        mask = None
        if any(m is not None for m in masks):
            full = torch.ones(parts[0].x.shape[:2], dtype=torch.bool)
            mask = torch.stack([full if m is None else m for m in masks])
        lengths = None
        if any(u.lengths is not None for u in parts):
            full = torch.full((parts[0].x.shape[0],), parts[0].x.shape[1])
            lengths = torch.stack([full if u.lengths is None else u.lengths for u in parts])
        x = torch.stack([u.x for u in parts])
        units.append(Unit(x, torch.stack([u.y for u in parts]), mask, parts[0].reset, lengths))
    return units


def _parallel_streams(split: Split, batch_size: int) -> Split:
    """Cut one stream (1, T, ...) into ``batch_size`` streams of T // batch_size steps."""
    T = split.x.shape[1]
    length = T // batch_size
    if length < 1:
        raise ValueError(f"batch_size must be at most the stream length {T}; got {batch_size}")

    def cut(tensor):
        return None if tensor is None else tensor[0, : length * batch_size].reshape(
            batch_size, length, *tensor.shape[2:]
        )  # fmt: skip

    return Split(cut(split.x), cut(split.y), cut(split.mask))


def _rows(split: Split, rows: slice) -> Split:
    """The parallel streams ``rows`` of ``split``."""
    mask = None if split.mask is None else split.mask[rows]
    return Split(split.x[rows], split.y[rows], mask)


def _take(split: Split, rows: torch.Tensor) -> Split:
    """The sequences ``rows`` of ``split``; padding beyond the longest of them (and beyond the
    last step the mask marks, for targets longer than their sources) is cut off."""
    if split.lengths is None:
        return Split(split.x[rows], split.y[rows], None if split.mask is None else split.mask[rows])
    lengths = split.lengths[rows]
    last = int(lengths.max())
    if split.mask is not None:
        marked = split.mask[rows].any(0).nonzero()
        last = max(last, int(marked[-1]) + 1 if len(marked) else 0)
    steps = slice(0, last)
    y = split.y[rows] if split.y.dim() == 1 else split.y[rows, steps]
    mask = None if split.mask is None else split.mask[rows, steps]
    return Split(split.x[rows, steps], y, mask, lengths)
