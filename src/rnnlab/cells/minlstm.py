r"""The minimal LSTM (minLSTM) of Feng et al. (2024): forget and input gates that read only
x_t, optionally normalised to sum to one; its step, its log-space coefficients, its spec and
its cell.

One step of one layer and direction::

    k_t = W_ih x_t + b_ih,          split as [k_f; k_i; k_h], each (B, H)
    f_t = sigmoid(k_f),  i_t = sigmoid(k_i),  h~_t = g(k_h)
    f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)     (coefficient_norm, the default)
    h_t = f'_t * h_{t-1} + i'_t * h~_t

with the positive g of :func:`rnnlab.cells.mingru.positive`. Without ``coefficient_norm``
the step uses f_t and i_t themselves. As for the minGRU the whole sequence is a linear scan
``h_t = a_t h_{t-1} + b_t`` (a_t = f'_t, b_t = i'_t h~_t > 0), which the layer's fast path
runs in log space from :func:`minlstm_log_coefficients`; in log space the normalisation is
``d = softplus(-k_f) - softplus(-k_i)``, ``log f' = -softplus(d)``, ``log i' = -softplus(-d)``
(the official code's ``use_coeff_norm``).

The state and the output are ``h`` (H units), starting at zeros (the minLSTM has no separate
cell state: h plays both parts). ``record`` keeps the coefficients f', i' and h~. Parameters
``weight_ih`` (3H, I) = [W_f; W_i; W_h] and ``bias_ih`` (3H,), torch.nn.Linear's
U(-1/sqrt(I), 1/sqrt(I)); with ``forget_bias`` the forget gate's bias starts at that value
(the official ``forget_bias_init_scale`` adds a constant to it). The deviations from the
official layer are the minGRU's (:mod:`rnnlab.cells.mingru`).

Feng, L., Tung, F., Ahmed, M. O., Bengio, Y. and Hajimirsadeghi, H. (2024). Were RNNs all we
needed? arXiv:2410.01201.
"""

import numbers
from collections.abc import Mapping
from typing import NamedTuple

import torch
import torch.nn.functional as F

from rnnlab.cells.base import RecurrentCell, check_bool, check_size
from rnnlab.cells.mingru import contracting, linear_initialise, log_positive, positive
from rnnlab.cells.spec import CellSpec


class MinLSTMTrace(NamedTuple):
    """Every step of a minLSTM: ``hidden`` (L*D, B, T, H), ``gates`` f', i', h~
    (L*D, B, T, 3, H): the coefficients the step applied."""

    hidden: torch.Tensor
    gates: torch.Tensor


def check_minlstm_options(
    hidden_size: int, bias: bool, *, coefficient_norm: bool = True, forget_bias=None
) -> dict[str, object]:
    """``coefficient_norm`` a bool; ``forget_bias`` None or a real number (needs ``bias``)."""
    check_bool("coefficient_norm", coefficient_norm)
    if forget_bias is not None:
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, numbers.Real):
            raise TypeError(
                f"forget_bias must be None or a number; got {type(forget_bias).__name__} "
                f"{forget_bias!r}"
            )
        if not bias:
            raise ValueError("forget_bias needs bias=True; got bias=False")
        forget_bias = float(forget_bias)
    return {"coefficient_norm": coefficient_norm, "forget_bias": forget_bias}


def minlstm_parameter_shapes(input_size: int, hidden_size: int, bias: bool) -> dict:
    """Parameter name -> shape (None where ``bias`` is off); rows [forget; input; hidden]."""
    H = hidden_size
    return {"weight_ih": (3 * H, input_size), "bias_ih": (3 * H,) if bias else None}


def minlstm_step(
    x_t: torch.Tensor,
    h: torch.Tensor,
    weight_ih: torch.Tensor,
    bias_ih: torch.Tensor | None,
    coefficient_norm: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One minLSTM step in linear space. Returns the new state (B, H) and the coefficients
    ``f', i', h~`` as (B, 3, H)."""
    k_f, k_i, k_h = F.linear(x_t, weight_ih, bias_ih).chunk(3, dim=-1)  # each (B, H)
    f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
    if coefficient_norm:
        f, i = f / (f + i), i / (f + i)
    candidate = positive(k_h)
    h_t = f * h + i * candidate
    return h_t, torch.stack((f, i, candidate), dim=-2)


def minlstm_log_coefficients(
    x: torch.Tensor, p: Mapping[str, torch.Tensor | None], options: Mapping, record: bool
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
    """The whole sequence's scan coefficients in log space: x (B, T, I) -> ``log a = log f'``
    and ``log b = log i' + log g(k_h)``, each (B, T, H), and with ``record`` the trace's
    coefficients (B, T, 3, H) (else nothing)."""
    k_f, k_i, k_h = F.linear(x, p["weight_ih"], p["bias_ih"]).chunk(3, dim=-1)  # (B, T, H)
    if options["coefficient_norm"]:
        d = F.softplus(-k_f) - F.softplus(-k_i)  # log i - log f
        log_f, log_i = -F.softplus(d), -F.softplus(-d)
    else:
        log_f, log_i = -F.softplus(-k_f), -F.softplus(-k_i)
    log_b = log_i + log_positive(k_h)
    gates = ()
    if record:
        gates = (torch.stack((log_f.exp(), log_i.exp(), positive(k_h)), dim=-2),)
    return log_f, log_b, gates


def minlstm_initialise(parameters, hidden_size: int, options, generator=None) -> None:
    """torch.nn.Linear's U(-1/sqrt(I), 1/sqrt(I)); then the forget gate's bias set to
    ``forget_bias`` where given."""
    linear_initialise(parameters, hidden_size, options, generator)
    if options["forget_bias"] is not None:
        with torch.no_grad():
            parameters["bias_ih"][:hidden_size] = options["forget_bias"]


def _shapes(input_size, hidden_size, bias, options):
    return minlstm_parameter_shapes(input_size, hidden_size, bias)


def _step(x_t, state, p, options):
    h, gates = minlstm_step(
        x_t, state[0], p["weight_ih"], p["bias_ih"], options["coefficient_norm"]
    )
    return (h,), (h, gates)


MINLSTM_SPEC = CellSpec(
    name="MinLSTM",
    parameter_shapes=_shapes,
    state_names=("h",),
    step=_step,
    trace_type=MinLSTMTrace,
    check_options=check_minlstm_options,
    initialise=minlstm_initialise,
    jacobian_bound=contracting,
)


class MinLSTMCell(RecurrentCell):
    r"""One time step of a minimal LSTM (Feng et al. 2024)::

        k_f, k_i, k_h = split(W_ih x_t + b_ih)
        f_t = sigmoid(k_f);  i_t = sigmoid(k_i);  h~_t = g(k_h)
        f'_t, i'_t = f_t / (f_t + i_t), i_t / (f_t + i_t)    (coefficient_norm)
        h_t = f'_t * h_{t-1} + i'_t * h~_t;  y_t = h_t

    See :mod:`rnnlab.cells.minlstm`.

    Args:
        input_size: I.
        hidden_size: H.
        bias: learn ``bias_ih``.
        coefficient_norm: normalise f and i to sum to one (the default, the paper's).
        forget_bias: if given, the forget gate's bias starts at this value.

    Shapes:
        ``x_t`` (B, I); the state and ``y_t`` (B, H).

    Parameters:
        ``weight_ih`` (3H, I) = [W_f; W_i; W_h], ``bias_ih`` (3H,); U(-1/sqrt(I), 1/sqrt(I)).

    Initial state:
        zeros.

    Example:
        >>> cell = MinLSTMCell(3, 4)
        >>> y_t, state = cell(torch.zeros(2, 3), cell.initial_state(2))
        >>> tuple(state.shape)
        (2, 4)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        *,
        coefficient_norm: bool = True,
        forget_bias: float | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.input_size = check_size("input_size", input_size, minimum=0)
        self.hidden_size = check_size("hidden_size", hidden_size, minimum=0)
        self.bias = check_bool("bias", bias)
        options = check_minlstm_options(
            hidden_size, bias, coefficient_norm=coefficient_norm, forget_bias=forget_bias
        )
        self.coefficient_norm = options["coefficient_norm"]
        self.forget_bias = options["forget_bias"]
        self._register(
            minlstm_parameter_shapes(input_size, hidden_size, bias),
            {"device": device, "dtype": dtype},
        )
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """torch.nn.Linear's U(-1/sqrt(I), 1/sqrt(I)), then ``forget_bias``."""
        parameters = {"weight_ih": self.weight_ih, "bias_ih": self.bias_ih}
        options = {"forget_bias": self.forget_bias}
        minlstm_initialise(parameters, self.hidden_size, options, generator)

    def initial_state(self, batch_size: int) -> torch.Tensor:
        """Zeros, (B, H)."""
        return self.weight_ih.new_zeros(
            (check_size("batch_size", batch_size, minimum=0), self.hidden_size)
        )

    def forward(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step: returns ``(y_t, state)``, both the new hidden state (B, H)."""
        self._check_step_input(x_t, [("h", state, self.hidden_size)])
        h, _ = minlstm_step(x_t, state, self.weight_ih, self.bias_ih, self.coefficient_norm)
        return h, h

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, bias={self.bias}, "
            f"coefficient_norm={self.coefficient_norm}, forget_bias={self.forget_bias}"
        )
