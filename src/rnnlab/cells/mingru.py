r"""The minimal GRU (minGRU) of Feng et al. (2024): gates that read only x_t, so that the
recurrence is a first-order linear scan; its step, its log-space coefficients, its spec and
its cell.

One step of one layer and direction::

    k_t = W_ih x_t + b_ih,          split as [k_h; k_z], each (B, H)
    z_t = sigmoid(k_z)              update gate
    h~_t = g(k_h)                   candidate, positive
    h_t = (1 - z_t) * h_{t-1} + z_t * h~_t

with the positive activation ``g(x) = x + 0.5`` for x >= 0 and ``sigmoid(x)`` below
(:func:`positive`; continuous at 0, where both sides are 0.5). Neither gate reads
``h_{t-1}``, so the whole sequence is ``h_t = a_t h_{t-1} + b_t`` with ``a_t = 1 - z_t`` and
``b_t = z_t h~_t > 0`` known in advance: the layer's fast path computes it as a log-space
parallel scan (:func:`rnnlab.kernels.scan.log_space_scan`, Heinsen 2023) from the logarithms
of :func:`mingru_log_coefficients`; the step here is the sequential reference.

The state and the output are ``h`` (H units), starting at zeros; ``record`` keeps the gates
``z`` and ``h~`` too. Parameters ``weight_ih`` (2H, I) = [W_h; W_z] (the official code's
order: hidden, then gate) and ``bias_ih`` (2H,). There is no ``weight_hh``. Initialisation is
torch.nn.Linear's, U(-1/sqrt(I), 1/sqrt(I)) with I the layer's input width (the official code
adds nothing).

Deliberate deviations from the official layer (``BorealisAI/minRNNs``, lucidrains'
``minGRU-pytorch``): no output projection ``to_out`` (a readout or the layer above does
that), no learned initial state (a state can be passed, of any sign: the scan carries it
linearly), and a bias by default (``bias=False`` as in lucidrains' code).

Feng, L., Tung, F., Ahmed, M. O., Bengio, Y. and Hajimirsadeghi, H. (2024). Were RNNs all we
needed? arXiv:2410.01201.
"""

import math
from collections.abc import Mapping
from typing import NamedTuple

import torch
import torch.nn.functional as F

from rnnlab.cells.base import RecurrentCell, check_bool, check_size
from rnnlab.cells.spec import CellSpec


class MinGRUTrace(NamedTuple):
    """Every step of a minGRU: ``hidden`` (L*D, B, T, H), ``gates`` z, h~ (L*D, B, T, 2, H)."""

    hidden: torch.Tensor
    gates: torch.Tensor


def positive(x: torch.Tensor) -> torch.Tensor:
    """g(x) = x + 0.5 for x >= 0, sigmoid(x) below: positive everywhere, continuous at 0
    (Feng et al. 2024, appendix B.3)."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_positive(x: torch.Tensor) -> torch.Tensor:
    """log g(x): log(relu(x) + 0.5) for x >= 0, -softplus(-x) below; both branches are finite
    everywhere (so neither poisons the other's gradient), and both are log 0.5 at 0."""
    return torch.where(x >= 0, torch.log(torch.relu(x) + 0.5), -F.softplus(-x))


def mingru_parameter_shapes(input_size: int, hidden_size: int, bias: bool) -> dict:
    """Parameter name -> shape (None where ``bias`` is off); rows [hidden; gate]."""
    H = hidden_size
    return {"weight_ih": (2 * H, input_size), "bias_ih": (2 * H,) if bias else None}


def mingru_step(
    x_t: torch.Tensor, h: torch.Tensor, weight_ih: torch.Tensor, bias_ih: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One minGRU step in linear space. Returns the new state (B, H) and the gates ``z, h~``
    as (B, 2, H)."""
    k_h, k_z = F.linear(x_t, weight_ih, bias_ih).chunk(2, dim=-1)  # each (B, H)
    z = torch.sigmoid(k_z)
    candidate = positive(k_h)
    h_t = (1 - z) * h + z * candidate
    return h_t, torch.stack((z, candidate), dim=-2)


def mingru_log_coefficients(
    x: torch.Tensor, p: Mapping[str, torch.Tensor | None], options: Mapping, record: bool
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
    """The whole sequence's scan coefficients in log space, for ``h_t = a_t h_{t-1} + b_t``.

    x (B, T, I) -> ``log a`` (B, T, H) = log(1 - z) = -softplus(k_z), ``log b`` (B, T, H) =
    log z + log g(k_h) = -softplus(-k_z) + log g(k_h), and with ``record`` the trace's gates
    (B, T, 2, H) (else nothing): what :func:`mingru_step` computes, without the recurrence.
    """
    k_h, k_z = F.linear(x, p["weight_ih"], p["bias_ih"]).chunk(2, dim=-1)  # each (B, T, H)
    log_a = -F.softplus(k_z)
    log_b = -F.softplus(-k_z) + log_positive(k_h)
    gates = (torch.stack((torch.sigmoid(k_z), positive(k_h)), dim=-2),) if record else ()
    return log_a, log_b, gates


def linear_initialise(parameters, hidden_size: int, options, generator=None) -> None:
    """torch.nn.Linear's initialisation: U(-1/sqrt(I), 1/sqrt(I)) for the weight and the bias,
    I the width of the layer's input (``weight_ih``'s columns)."""
    weight = parameters["weight_ih"]
    fan_in = weight.shape[1]
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    with torch.no_grad():
        for parameter in parameters.values():
            if parameter is not None:
                parameter.uniform_(-bound, bound, generator=generator)


def contracting(p, options) -> float:
    """The one-step Jacobian diag(a_t), 0 < a_t < 1: its norm is below 1 whatever the weights."""
    return 1.0


def _shapes(input_size, hidden_size, bias, options):
    return mingru_parameter_shapes(input_size, hidden_size, bias)


def _step(x_t, state, p, options):
    h, gates = mingru_step(x_t, state[0], p["weight_ih"], p["bias_ih"])
    return (h,), (h, gates)


MINGRU_SPEC = CellSpec(
    name="MinGRU",
    parameter_shapes=_shapes,
    state_names=("h",),
    step=_step,
    trace_type=MinGRUTrace,
    initialise=linear_initialise,
    jacobian_bound=contracting,
)


class MinGRUCell(RecurrentCell):
    r"""One time step of a minimal GRU (Feng et al. 2024)::

        k_h, k_z = split(W_ih x_t + b_ih)
        z_t = sigmoid(k_z);  h~_t = g(k_h);  h_t = (1 - z_t) * h_{t-1} + z_t * h~_t
        y_t = h_t

    with g(x) = x + 0.5 for x >= 0 and sigmoid(x) below. See :mod:`rnnlab.cells.mingru`.

    Args:
        input_size: I.
        hidden_size: H.
        bias: learn ``bias_ih``.

    Shapes:
        ``x_t`` (B, I); the state and ``y_t`` (B, H).

    Parameters:
        ``weight_ih`` (2H, I) = [W_h; W_z], ``bias_ih`` (2H,); U(-1/sqrt(I), 1/sqrt(I)).

    Initial state:
        zeros.

    Example:
        >>> cell = MinGRUCell(3, 4)
        >>> y_t, state = cell(torch.zeros(2, 3), cell.initial_state(2))
        >>> tuple(state.shape)
        (2, 4)
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, *, device=None, dtype=None
    ) -> None:
        super().__init__()
        self.input_size = check_size("input_size", input_size, minimum=0)
        self.hidden_size = check_size("hidden_size", hidden_size, minimum=0)
        self.bias = check_bool("bias", bias)
        self._register(
            mingru_parameter_shapes(input_size, hidden_size, bias),
            {"device": device, "dtype": dtype},
        )
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """torch.nn.Linear's U(-1/sqrt(I), 1/sqrt(I))."""
        linear_initialise(dict(self.named_parameters()), self.hidden_size, {}, generator)

    def initial_state(self, batch_size: int) -> torch.Tensor:
        """Zeros, (B, H)."""
        return self.weight_ih.new_zeros(
            (check_size("batch_size", batch_size, minimum=0), self.hidden_size)
        )

    def forward(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step: returns ``(y_t, state)``, both the new hidden state (B, H)."""
        self._check_step_input(x_t, [("h", state, self.hidden_size)])
        h, _ = mingru_step(x_t, state, self.weight_ih, self.bias_ih)
        return h, h

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"
