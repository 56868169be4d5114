r"""Jordan's network: a recurrent cell whose context is its own previous output.

One step of one layer and direction::

    h_t = f(W_ih x_t + b_ih + W_hh y_{t-1} + b_hh)
    y_t = g(W_ho h_t + b_ho)

The state is the context ``y`` (O units), starting at g(0); the output is ``y``, so the layer
above reads O features per direction. Parameters ``weight_ih`` (H, I), ``weight_hh`` (H, O),
``bias_ih`` and ``bias_hh`` (H,), ``weight_ho`` (O, H), ``bias_ho`` (O,), U(-1/sqrt(H),
1/sqrt(H)). The one-step Jacobian is ``diag g'(z_t) W_ho diag f'(a_t) W_hh``, so ‖J_t‖₂ ≤
γ_g λ₁(W_ho) γ_f λ₁(W_hh) (Pascanu et al. 2013).

Jordan, M. I. (1986). Serial order: a parallel distributed processing approach. ICS Report
8604, Institute for Cognitive Science, UCSD. (Reprinted 1997 in *Advances in Psychology*, 121.)
"""

from typing import NamedTuple

import torch
import torch.nn.functional as F

from rnnlab.cells.activations import ACTIVATIONS, SLOPE_BOUNDS, check_activation, rest_value
from rnnlab.cells.base import RecurrentCell, check_bool, check_size
from rnnlab.cells.spec import CellSpec, spectral_norm

NONLINEARITIES = ("tanh", "relu", "sigmoid")
OUTPUT_NONLINEARITIES = ("sigmoid", "tanh", "relu", "identity")


class JordanTrace(NamedTuple):
    """Every step of a Jordan layer: ``hidden`` (L*D, B, T, H) and ``output`` (L*D, B, T, O)."""

    hidden: torch.Tensor
    output: torch.Tensor


def jordan_parameter_shapes(
    input_size: int, hidden_size: int, output_size: int, bias: bool
) -> dict:
    """Parameter name -> shape (None where ``bias`` is off)."""
    H, O = hidden_size, output_size
    return {
        "weight_ih": (H, input_size),
        "weight_hh": (H, O),
        "bias_ih": (H,) if bias else None,
        "bias_hh": (H,) if bias else None,
        "weight_ho": (O, H),
        "bias_ho": (O,) if bias else None,
    }


def jordan_step(
    x_t: torch.Tensor,
    y: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None,
    bias_hh: torch.Tensor | None,
    weight_ho: torch.Tensor,
    bias_ho: torch.Tensor | None,
    nonlinearity: str,
    output_nonlinearity: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One Jordan step. Returns the new output ``y_t`` (B, O) and hidden ``h_t`` (B, H)."""
    h_t = ACTIVATIONS[nonlinearity](
        F.linear(x_t, weight_ih, bias_ih) + F.linear(y, weight_hh, bias_hh)
    )
    y_t = ACTIVATIONS[output_nonlinearity](F.linear(h_t, weight_ho, bias_ho))
    return y_t, h_t


def jordan_options(
    hidden_size: int,
    bias: bool,
    *,
    output_size: int,
    nonlinearity: str = "tanh",
    output_nonlinearity: str = "sigmoid",
) -> dict:
    """The Jordan layer's options: O, f and g."""
    return {
        "output_size": check_size("output_size", output_size),
        "nonlinearity": check_activation("nonlinearity", nonlinearity, NONLINEARITIES),
        "output_nonlinearity": check_activation(
            "output_nonlinearity", output_nonlinearity, OUTPUT_NONLINEARITIES
        ),
    }


def _shapes(input_size, hidden_size, bias, options):
    return jordan_parameter_shapes(input_size, hidden_size, options["output_size"], bias)


def _sizes(hidden_size, options):
    return (options["output_size"],)


def _rest(options):
    return (rest_value(options["output_nonlinearity"]),)


def _step(x_t, state, p, options):
    y, h = jordan_step(
        x_t, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
        p["weight_ho"], p["bias_ho"], options["nonlinearity"], options["output_nonlinearity"],
    )  # fmt: skip
    return (y,), (h, y)


def jordan_jacobian_bound(p, options) -> float:
    """γ_f γ_g λ₁(W_ho) λ₁(W_hh), which bounds every ‖∂y_t/∂y_{t-1}‖₂ (Pascanu et al. 2013)."""
    gammas = SLOPE_BOUNDS[options["nonlinearity"]] * SLOPE_BOUNDS[options["output_nonlinearity"]]
    return gammas * spectral_norm(p["weight_ho"]) * spectral_norm(p["weight_hh"])


JORDAN_SPEC = CellSpec(
    name="Jordan",
    parameter_shapes=_shapes,
    state_names=("y",),
    step=_step,
    trace_type=JordanTrace,
    check_options=jordan_options,
    state_sizes=_sizes,
    rest_values=_rest,
    jacobian_bound=jordan_jacobian_bound,
)


class JordanCell(RecurrentCell):
    r"""One time step of a Jordan network: the context units hold the previous *output*::

        h_t = f(W_ih x_t + b_ih + W_hh y_{t-1} + b_hh)
        y_t = g(W_ho h_t + b_ho)

    Where Elman's context copies the hidden layer, Jordan's copies the output layer, so the
    recurrence passes through the output's bottleneck. Jordan's (1986) state units also decayed
    with a self-connection (``s_t = mu s_{t-1} + y_{t-1}``); this cell keeps the plain copy
    (``mu = 0``), the form used in most textbooks.

    Args:
        input_size: I.
        hidden_size: H.
        output_size: O, output units, which are also the context units.
        bias: learn ``b_ih``, ``b_hh`` and ``b_ho``.
        nonlinearity: f, the hidden units' ``"tanh"``, ``"relu"`` or ``"sigmoid"``.
        output_nonlinearity: g, the output units' ``"sigmoid"`` (Jordan's logistic units),
            ``"tanh"``, ``"relu"`` or ``"identity"``.

    Shapes:
        ``x_t`` (B, I); the state (the context) and ``y_t`` (B, O).

    Parameters:
        ``weight_ih`` (H, I), ``weight_hh`` (H, O) from the context, ``bias_ih`` (H,),
        ``bias_hh`` (H,), ``weight_ho`` (O, H), ``bias_ho`` (O,); all drawn from
        U(-1/sqrt(H), 1/sqrt(H)).

    Initial state:
        every context unit at the output units' resting activation g(0) (0.5 for sigmoid).

    Example:
        >>> cell = JordanCell(3, 8, 2)
        >>> y_t, state = cell(torch.zeros(5, 3), cell.initial_state(5))
        >>> tuple(y_t.shape)
        (5, 2)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        output_nonlinearity: str = "sigmoid",
        *,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.input_size = check_size("input_size", input_size, minimum=0)
        self.hidden_size = check_size("hidden_size", hidden_size, minimum=0)
        self.output_size = check_size("output_size", output_size, minimum=0)
        self.nonlinearity = check_activation("nonlinearity", nonlinearity, NONLINEARITIES)
        self.output_nonlinearity = check_activation(
            "output_nonlinearity", output_nonlinearity, OUTPUT_NONLINEARITIES
        )
        self.bias = check_bool("bias", bias)
        self._register(
            jordan_parameter_shapes(input_size, hidden_size, output_size, bias),
            {"device": device, "dtype": dtype},
        )
        self.reset_parameters()

    def initial_state(self, batch_size: int) -> torch.Tensor:
        """The context at the start of a sequence: (B, O) filled with g(0)."""
        return self.weight_hh.new_full(
            (check_size("batch_size", batch_size, minimum=0), self.output_size),
            rest_value(self.output_nonlinearity),
        )

    def forward(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step: returns ``(y_t, state)``, both the new output (B, O)."""
        self._check_step_input(x_t, [("context", state, self.output_size)])
        y, _ = jordan_step(
            x_t,
            state,
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
            self.weight_ho,
            self.bias_ho,
            self.nonlinearity,
            self.output_nonlinearity,
        )
        return y, y

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, {self.output_size}, bias={self.bias}, "
            f"nonlinearity={self.nonlinearity!r}, output_nonlinearity={self.output_nonlinearity!r}"
        )
