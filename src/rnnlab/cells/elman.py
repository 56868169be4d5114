r"""Elman's simple recurrent network (SRN): its step, its spec and its cell.

One step of one layer and direction::

    h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),   f = tanh, relu or the logistic sigmoid

The state is ``h`` (H units), starting at f(0) (Elman's sigmoid context units "are initially
set to 0.5", p. 182); the output is ``h``. Parameters ``weight_ih`` (H, I), ``weight_hh``
(H, H), ``bias_ih`` and ``bias_hh`` (H,), torch.nn.RNN's, U(-1/sqrt(H), 1/sqrt(H)). Its
one-step Jacobian is ``diag f'(a_t) W_hh``, so ‖J_t‖₂ ≤ γ λ₁(W_hh) with γ = sup|f'| (Pascanu,
Mikolov & Bengio 2013).

Elman, J. L. (1990). Finding structure in time. *Cognitive Science*, 14(2), 179-211.
"""

from typing import NamedTuple

import torch
import torch.nn.functional as F

from rnnlab.cells.activations import ACTIVATIONS, SLOPE_BOUNDS, check_activation, rest_value
from rnnlab.cells.base import RecurrentCell, check_bool, check_size
from rnnlab.cells.spec import CellSpec, spectral_norm

NONLINEARITIES = ("tanh", "relu", "sigmoid")


class ElmanTrace(NamedTuple):
    """Every step of an Elman layer: ``hidden`` (L*D, B, T, H)."""

    hidden: torch.Tensor


def elman_parameter_shapes(input_size: int, hidden_size: int, bias: bool) -> dict:
    """Parameter name -> shape (None where ``bias`` is off), in torch.nn's order."""
    H = hidden_size
    return {
        "weight_ih": (H, input_size),
        "weight_hh": (H, H),
        "bias_ih": (H,) if bias else None,
        "bias_hh": (H,) if bias else None,
    }


def elman_step(
    x_t: torch.Tensor,
    h: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None,
    bias_hh: torch.Tensor | None,
    nonlinearity: str,
) -> torch.Tensor:
    """One Elman step: ``h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``, shape (B, H)."""
    return ACTIVATIONS[nonlinearity](
        F.linear(x_t, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)
    )


def elman_options(hidden_size: int, bias: bool, *, nonlinearity: str = "tanh") -> dict:
    """The Elman layer's one option: f, ``"tanh"``, ``"relu"`` or ``"sigmoid"``."""
    return {"nonlinearity": check_activation("nonlinearity", nonlinearity, NONLINEARITIES)}


def _shapes(input_size, hidden_size, bias, options):
    return elman_parameter_shapes(input_size, hidden_size, bias)


def _rest(options):
    return (rest_value(options["nonlinearity"]),)


def _step(x_t, state, p, options):
    h = elman_step(
        x_t, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
        options["nonlinearity"],
    )  # fmt: skip
    return (h,), (h,)


def elman_jacobian_bound(p, options) -> float:
    """γ λ₁(W_hh), which bounds ‖diag f'(a_t) W_hh‖₂ at every step (Pascanu et al. 2013)."""
    return SLOPE_BOUNDS[options["nonlinearity"]] * spectral_norm(p["weight_hh"])


ELMAN_SPEC = CellSpec(
    name="Elman",
    parameter_shapes=_shapes,
    state_names=("h",),
    step=_step,
    trace_type=ElmanTrace,
    check_options=elman_options,
    rest_values=_rest,
    jacobian_bound=elman_jacobian_bound,
)


class ElmanCell(RecurrentCell):
    r"""One time step of Elman's simple recurrent network.

    The hidden units see the input and a copy of their own previous activation, held in the
    context units (one context unit per hidden unit, copied with fixed weight 1)::

        h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
        y_t = h_t

    Args:
        input_size: I, features of ``x_t``.
        hidden_size: H, hidden (and context) units.
        bias: learn ``b_ih`` and ``b_hh``.
        nonlinearity: ``"tanh"`` (torch.nn.RNN's default), ``"relu"`` or ``"sigmoid"``
            (Elman's logistic units, which bound activations to (0, 1)).

    Shapes:
        ``x_t`` (B, I); the state and ``y_t`` (B, H).

    Parameters (torch.nn.RNNCell's names, so state dicts move both ways):
        ``weight_ih`` (H, I), ``weight_hh`` (H, H), ``bias_ih`` (H,), ``bias_hh`` (H,);
        all drawn from U(-1/sqrt(H), 1/sqrt(H)) as in torch.nn.

    Initial state:
        every context unit at its resting activation f(0): 0 for tanh and relu, 0.5 for
        sigmoid, which is Elman's (1990, p. 182) "context units are initially set to 0.5".

    Example:
        >>> cell = ElmanCell(3, 5, nonlinearity="sigmoid")
        >>> state = cell.initial_state(batch_size=2)
        >>> y_t, state = cell(torch.zeros(2, 3), state)
        >>> tuple(y_t.shape)
        (2, 5)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        *,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.input_size = check_size("input_size", input_size, minimum=0)
        self.hidden_size = check_size("hidden_size", hidden_size, minimum=0)
        self.nonlinearity = check_activation("nonlinearity", nonlinearity, NONLINEARITIES)
        self.bias = check_bool("bias", bias)
        self._register(
            elman_parameter_shapes(input_size, hidden_size, bias),
            {"device": device, "dtype": dtype},
        )
        self.reset_parameters()

    def initial_state(self, batch_size: int) -> torch.Tensor:
        """The context at the start of a sequence: (B, H) filled with f(0)."""
        return self.weight_hh.new_full(
            (check_size("batch_size", batch_size, minimum=0), self.hidden_size),
            rest_value(self.nonlinearity),
        )

    def forward(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step: returns ``(y_t, state)``, both the new hidden state (B, H)."""
        self._check_step_input(x_t, [("h", state, self.hidden_size)])
        h = elman_step(
            x_t,
            state,
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
            self.nonlinearity,
        )
        return h, h

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, bias={self.bias}, "
            f"nonlinearity={self.nonlinearity!r}"
        )
