"""The named unit nonlinearities that cells and layers accept, and their resting values.

A context unit starts at the resting activation ``f(0)`` of the unit it copies: 0 for
``tanh``, ``relu``, ``retanh`` and ``identity``, 0.5 for ``sigmoid`` (log 2 for ``softplus``).
That is why Elman's (1990) logistic context units "are initially set to 0.5" (p. 182) and
torch.nn's tanh RNN starts at 0. ``softplus`` and ``retanh`` are the continuous-time rate
networks' (:mod:`rnnlab.cells.ctrnn`).
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F


def retanh(a: torch.Tensor) -> torch.Tensor:
    """The rectified tanh, ``max(0, tanh(a))``: a rate in [0, 1) (Yang et al. 2019's
    ``retanh``), whose slope at a > 0 is tanh's and 0 below."""
    return torch.relu(torch.tanh(a))


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "identity": lambda a: a,
    # torch's softplus, log(1 + exp(a)), which is exactly a above a = 20 (its threshold).
    "softplus": F.softplus,
    "retanh": retanh,
}

#: γ = sup|f'| of each nonlinearity: how much one unit can stretch a perturbation in one step,
#: the constant of the Pascanu et al. (2013) bound on a one-step Jacobian.
SLOPE_BOUNDS: dict[str, float] = {
    "tanh": 1.0, "relu": 1.0, "sigmoid": 0.25, "identity": 1.0, "softplus": 1.0, "retanh": 1.0,
}  # fmt: skip


def check_activation(argument: str, name: object, allowed: tuple[str, ...]) -> str:
    """Return ``name`` if it is one of ``allowed``, else raise a ValueError naming both."""
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(f"{argument} must be one of {', '.join(map(repr, allowed))}; got {name!r}")
    return name


def rest_value(name: str) -> float:
    """The activation of a unit with zero net input, ``f(0)``."""
    return float(ACTIVATIONS[name](torch.zeros((), device="cpu")))  # a number, on any device
