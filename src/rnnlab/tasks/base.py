"""What a task gives the trainer: data splits, sizes, the kinds of its inputs and targets, a
loss and its metrics.

A task is a seeded generator (or a loader) of sequences. Every split holds tensors with a
batch dimension first, the same layout as the layers::

    x        (N, T, I)   inputs: float vectors (a task's ``inputs = "vectors"``), or
             (N, T)      integer token ids in [0, I) (``inputs = "tokens"``)
    y        (N, T, O)   a target at every step (``targets = "per_step"``): float values, or
             (N, T)      class indices for "cross_entropy";
             (N,)        one class index per sequence (``targets = "per_sequence"``), or
                         (N, O) values for another loss (no loss of the trainer takes
                         them yet: rnnlab.losses.per_sequence_loss is a cross-entropy);
             (N, T)      target token ids read by an encoder-decoder (``targets =
                         "sequence"``, translation), padded with the sources to one T
             (N, S)      unaligned labels 1.. padded with 0 (``targets = "transcript"``,
                         CTC: connected digits), ``mask`` the valid steps
    mask     (N, T)      where the loss applies (True) — None means every step
    lengths  (N,)        valid steps of each sequence (the rest is padding) — None: all T

:class:`Split` checks what holds for every split, that N and T agree; :func:`check_split`
checks a split against the kinds its task declares, and :func:`checked_splits` every split of
a task, where its data enters training (:func:`rnnlab.train.trainer.fit`) and evaluation
(:func:`rnnlab.train.evaluation.evaluate_run`).

A *stream* task (Elman's letter stream, the temporal XOR) has one long sequence, N = 1, that
the trainer cuts into parallel streams and chunks, carrying the state across chunks. A
*sequence* task has N independent sequences that the trainer shuffles into minibatches.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import torch
from pydantic import Field

from rnnlab.losses import Loss, Targets

Inputs = Literal["vectors", "tokens"]
"""The kinds of inputs a task declares (:attr:`Task.inputs`): float vectors, or token ids."""

# The largest seed every consumer takes: scikit-learn's random_state stops at 2**32 - 1, numpy
# refuses negative seeds, torch's Generator anything from 2**64 on.
MAX_SEED = 2**32 - 1


def seed_field(description: str):
    """The ``seed`` of a config: an integer in 0 .. :data:`MAX_SEED`, 0 by default."""
    return Field(0, ge=0, le=MAX_SEED, description=description)


@dataclass(frozen=True)
class Split:
    """One split of a task's data; see the module docstring for the shapes.

    A split checks only what holds for every task: x is (N, T, ...), y starts with N, mask is
    (N, T) and lengths (N,). What x and y hold, for the kinds a task declares, is
    :func:`check_split`'s to check.
    """

    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor | None = None
    lengths: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.x.dim() < 2:
            raise ValueError(
                f"Split.x must be (N, T, I) or (N, T); got shape {tuple(self.x.shape)}"
            )
        N, T = self.x.shape[:2]
        if self.y.dim() < 1 or self.y.shape[0] != N:
            raise ValueError(f"Split.y must start with N = {N}; got {tuple(self.y.shape)}")
        if self.mask is not None and tuple(self.mask.shape) != (N, T):
            raise ValueError(f"Split.mask must be (N, T) = {(N, T)}; got {tuple(self.mask.shape)}")
        if self.lengths is not None and tuple(self.lengths.shape) != (N,):
            raise ValueError(
                f"Split.lengths must be (N,) = ({N},); got {tuple(self.lengths.shape)}"
            )


def check_split(
    split: Split, inputs: Inputs, targets: Targets, loss: Loss, name: str = "split"
) -> None:
    """A ValueError, naming what was expected and what was got, unless ``split`` holds the
    inputs and targets of these kinds (see the module docstring): ``x`` float (N, T, I) or
    integer (N, T) token ids; ``y`` class indices for "cross_entropy" (integer, (N, T), or
    (N,) per sequence) and float values otherwise ((N, T, O), or (N, O) per sequence), with
    the T of x. ``name`` says which split in the message.

    >>> x = torch.zeros(4, 6, dtype=torch.long)  # (N, T) token ids
    >>> check_split(Split(x, torch.zeros(4, dtype=torch.long)), "tokens", "per_sequence",
    ...             "cross_entropy")
    >>> check_split(Split(x, torch.zeros(4, 6, 2)), "tokens", "per_sequence", "cross_entropy")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: split: ... need y (N,) = (4,) integer class indices; got float32 of shape (4, 6, 2)
    """
    N, T = split.x.shape[:2]
    if inputs == "tokens":
        expected = f"(N, T) = {_written((N, T))} integer token ids"
        fits = split.x.dim() == 2 and _integer(split.x)
    else:
        expected = f"(N, T, I) = {_written((N, T, 'I'))} float vectors"
        fits = split.x.dim() == 3 and split.x.is_floating_point()
    if not fits:
        raise ValueError(
            f"{name}: inputs = {inputs!r} need x {expected}; got {_described(split.x)}"
        )
    names, sizes = (("N",), (N,)) if targets == "per_sequence" else (("N", "T"), (N, T))
    if targets == "transcript":
        if not (split.y.dim() == 2 and split.y.shape[0] == N and _integer(split.y)):
            raise ValueError(
                f"{name}: targets = 'transcript' need y (N, S) = ({N}, S) integer labels "
                f"padded with 0; got {_described(split.y)}"
            )
        return
    if loss == "cross_entropy":
        kind = "integer token ids" if targets == "sequence" else "integer class indices"
        fits = tuple(split.y.shape) == sizes and _integer(split.y)
    else:
        names, sizes, kind = (*names, "O"), (*sizes, "O"), "float values"
        fits = split.y.dim() == len(sizes) and tuple(split.y.shape[:-1]) == sizes[:-1]
        fits = fits and split.y.is_floating_point()
    if not fits:
        raise ValueError(
            f"{name}: targets = {targets!r} with loss {loss!r} need y {_written(names)} = "
            f"{_written(sizes)} {kind}; got {_described(split.y)}"
        )


def _integer(tensor: torch.Tensor) -> bool:
    return not (tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool)


def _described(tensor: torch.Tensor) -> str:
    return f"{str(tensor.dtype).removeprefix('torch.')} of shape {tuple(tensor.shape)}"


def _written(sizes: tuple) -> str:
    """A shape as Python writes a tuple, with names for sizes: (N,), (N, T, O)."""
    return f"({', '.join(map(str, sizes))}{',' if len(sizes) == 1 else ''})"


def next_step_split(sequence: torch.Tensor) -> Split:
    """One stream (T, F) as a next-step prediction split: input t, target t + 1, N = 1."""
    return Split(x=sequence[None, :-1], y=sequence[None, 1:])


class Task:
    """Base class of the tasks. Subclasses set the class attributes and implement ``splits``.

    Attributes:
        name: the registry name, as written in a config's ``[task] name``.
        description: one line for ``rnnlab list``.
        stream: True for one long sequence (state carried across chunks), False for
            independent sequences.
        autoregressive: True when the input at t + 1 is the target at t (next-step
            prediction), so a model's own prediction can be fed back in.
        inputs: what ``x`` holds: ``"vectors"`` (float, (N, T, I)) or ``"tokens"``
            (integer ids in ``[0, input_size)``, (N, T), embedded or one-hot by the network).
        targets: what ``y`` holds: ``"per_step"`` (a target at every step; the network reads
            out at every step), ``"per_sequence"`` (one target per sequence; the network
            reads out its final state) or ``"sequence"`` (a target sequence read by an
            encoder-decoder, translation; ``lengths`` are the sources' and ``mask`` marks the
            target tokens) or ``"transcript"`` (y (N, S) unaligned labels 1.. padded with 0,
            that the outputs at every step spell out under CTC; ``mask`` marks the valid
            steps). The model (:func:`rnnlab.models.config.build_model`) and the loss
            (:data:`rnnlab.losses.TARGET_LOSSES`) follow from it.
        loss: ``"mse"`` (linear outputs), ``"sigmoid_mse"`` (squared error of logistic
            outputs, as in Elman 1990), ``"bce"`` (logistic outputs, cross-entropy),
            ``"cross_entropy"`` (softmax over classes) or ``"gaussian_nll"`` (2 O outputs:
            the means and log-variances of O normal distributions).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    stream: ClassVar[bool]
    autoregressive: ClassVar[bool] = False
    inputs: ClassVar[Inputs] = "vectors"
    targets: ClassVar[Targets] = "per_step"
    loss: ClassVar[Loss]
    input_size: int
    output_size: int

    def splits(self) -> dict[str, Split]:
        """The ``"train"``, ``"val"`` and ``"test"`` splits, the same for the same config."""
        raise NotImplementedError

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        """Task-specific metrics of ``predictions`` (after the output activation)."""
        return {}

    # -- only some tasks: saved artifacts, class weights -------------------------------------
    class_weights: torch.Tensor | None = None
    """Weights of the classes in the cross-entropy loss; None weighs them equally."""

    def save(self, directory: Path) -> None:
        """Write what a run needs besides its weights (a vocabulary) into ``directory``."""

    # What needs a trained network (decoding, backtests, reports, baselines) lives in
    # rnnlab.evaluation, which names each task's evaluation functions.


def checked_splits(task: Task) -> dict[str, Split]:
    """``task.splits()``, each split checked against the kinds the task declares
    (:func:`check_split`)."""
    splits = task.splits()
    for name, split in splits.items():
        check_split(
            split, task.inputs, task.targets, task.loss, f"task {task.name!r}, split {name!r}"
        )
    return splits
