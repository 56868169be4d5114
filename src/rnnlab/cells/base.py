"""What every recurrent cell shares: the one contract and the parameter bookkeeping.

A cell computes a single time step. Its contract, the same for every family::

    state = cell.initial_state(batch_size)
    y_t, state = cell(x_t, state)          # x_t: (B, I)

The return type never depends on a flag. The unroll over time, stacking and directions live
in :mod:`rnnlab.layers`. A cell and the layers' reference path call the same step function
(through the family's :class:`~rnnlab.cells.spec.CellSpec`); a layer's default path runs the
kernels of :mod:`rnnlab.kernels` wherever they can serve a call, and those are tested against
the step functions, the oracle.
"""

import math

import torch
from torch import nn


def check_size(name: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum``, else raise naming what was got.

    The layers need sizes >= 1, as torch.nn.RNN, GRU and LSTM do ("hidden_size must be greater
    than zero"); the cells, like torch.nn.RNNCell, accept 0 (``minimum=0``): a cell of no
    units, or a batch of no rows, computes empty tensors.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= {minimum}; got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a bool, else a TypeError (an int or a string is refused too).

    torch.nn refuses anything but a bool for ``bias`` and ``batch_first``; rnnlab is as strict
    for every switch, so that a shifted positional argument (``"relu"`` landing on ``bias``)
    cannot pass unnoticed.
    """
    if not isinstance(value, bool):
        raise TypeError(
            f"{name} must be a bool (True or False); got {type(value).__name__} {value!r}"
        )
    return value


def init_uniform_(parameters: list[nn.Parameter], hidden_size: int, generator=None) -> None:
    """torch.nn's recurrent initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)).

    With H = 0 the bound is 0, as in torch.nn (what parameters remain non-empty are zeros).
    """
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    with torch.no_grad():
        for parameter in parameters:
            parameter.uniform_(-bound, bound, generator=generator)


class RecurrentCell(nn.Module):
    """Base class of the cells: registers parameters by name and checks step inputs.

    Subclasses set ``self.input_size`` and ``self.hidden_size``, call
    :meth:`_register` with ``{name: shape}`` and implement ``initial_state`` and ``forward``.
    """

    input_size: int
    hidden_size: int

    def _register(self, shapes: dict[str, tuple[int, ...] | None], factory: dict) -> None:
        for name, shape in shapes.items():
            if shape is None:
                self.register_parameter(name, None)
            else:
                self.register_parameter(name, nn.Parameter(torch.empty(shape, **factory)))

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)), as torch.nn does."""
        init_uniform_(list(self.parameters()), self.hidden_size, generator)

    def _check_step_input(self, x_t: torch.Tensor, state: list[tuple[str, object, int]]) -> None:
        """Check ``x_t`` is (B, I) floating point and each ``(name, tensor, size)`` is (B, size)."""
        if not isinstance(x_t, torch.Tensor):
            raise TypeError(f"x_t must be a torch.Tensor of shape (B, I); got {type(x_t).__name__}")
        if not x_t.is_floating_point():
            raise TypeError(f"x_t must be a floating-point tensor; got dtype {x_t.dtype}")
        if x_t.dim() != 2 or x_t.shape[1] != self.input_size:
            raise ValueError(
                f"x_t must have shape (B, I) = (B, {self.input_size}); got {tuple(x_t.shape)}"
            )
        batch_size = x_t.shape[0]
        for name, tensor, size in state:
            if not isinstance(tensor, torch.Tensor):
                raise TypeError(f"state {name} must be a torch.Tensor; got {type(tensor).__name__}")
            if tuple(tensor.shape) != (batch_size, size):
                raise ValueError(
                    f"state {name} must have shape ({batch_size}, {size}); "
                    f"got {tuple(tensor.shape)}"
                )
            if tensor.dtype != x_t.dtype:
                raise TypeError(
                    f"state {name} dtype {tensor.dtype} does not match x_t dtype {x_t.dtype}"
                )
