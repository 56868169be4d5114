r"""The gated recurrent unit (GRU), in torch.nn's variant: its step, its spec and its cell.

One step of one layer and direction (gate order r, z, n)::

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

The state and the output are ``h`` (H units), starting at zeros; ``record`` keeps the gates
too. Parameters ``weight_ih`` (3H, I), ``weight_hh`` (3H, H), ``bias_ih`` and ``bias_hh``
(3H,), torch.nn.GRU's, U(-1/sqrt(H), 1/sqrt(H)).

Cho, K., van Merrienboer, B., Gulcehre, C., Bahdanau, D., Bougares, F., Schwenk, H. and
Bengio, Y. (2014). Learning phrase representations using RNN encoder-decoder for statistical
machine translation. *EMNLP*.
"""

from typing import NamedTuple

import torch
import torch.nn.functional as F

from rnnlab.cells.base import RecurrentCell, check_bool, check_size
from rnnlab.cells.spec import CellSpec


class GRUTrace(NamedTuple):
    """Every step of a GRU: ``hidden`` (L*D, B, T, H), ``gates`` r, z, n (L*D, B, T, 3, H)."""

    hidden: torch.Tensor
    gates: torch.Tensor


def gru_parameter_shapes(input_size: int, hidden_size: int, bias: bool) -> dict:
    """Parameter name -> shape (None where ``bias`` is off); gates stacked r, z, n."""
    H = hidden_size
    return {
        "weight_ih": (3 * H, input_size),
        "weight_hh": (3 * H, H),
        "bias_ih": (3 * H,) if bias else None,
        "bias_hh": (3 * H,) if bias else None,
    }


def gru_step(
    x_t: torch.Tensor,
    h: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None,
    bias_hh: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One GRU step. Returns the new state (B, H) and the gates ``r, z, n`` as (B, 3, H)."""
    gi_r, gi_z, gi_n = F.linear(x_t, weight_ih, bias_ih).chunk(3, dim=1)  # each (B, H)
    gh_r, gh_z, gh_n = F.linear(h, weight_hh, bias_hh).chunk(3, dim=1)
    r = torch.sigmoid(gi_r + gh_r)
    z = torch.sigmoid(gi_z + gh_z)
    n = torch.tanh(gi_n + r * gh_n)  # torch's variant: r scales W_hn h + b_hn
    h_t = (1 - z) * n + z * h
    return h_t, torch.stack((r, z, n), dim=1)


def _shapes(input_size, hidden_size, bias, options):
    return gru_parameter_shapes(input_size, hidden_size, bias)


def _step(x_t, state, p, options):
    h, gates = gru_step(x_t, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
    return (h,), (h, gates)


GRU_SPEC = CellSpec(
    name="GRU", parameter_shapes=_shapes, state_names=("h",), step=_step, trace_type=GRUTrace
)


class GRUCell(RecurrentCell):
    r"""One time step of a gated recurrent unit, as torch.nn.GRUCell computes it::

        r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)        reset gate
        z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)        update gate
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))   candidate
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}
        y_t = h_t

    Deliberate deviation from Cho et al. (2014): the paper applies the reset gate before the
    recurrent matrix, ``W_hn (r_t * h_{t-1})``; torch.nn (like cuDNN) applies it after,
    ``r_t * (W_hn h_{t-1} + b_hn)``, so that ``W_hh h`` is one matrix product for all three
    gates. We follow torch so that weights and results carry over exactly.

    Args:
        input_size: I.
        hidden_size: H.
        bias: learn ``b_ih`` and ``b_hh``.

    Shapes:
        ``x_t`` (B, I); the state and ``y_t`` (B, H).

    Parameters (torch.nn.GRUCell's names and gate order r, z, n):
        ``weight_ih`` (3H, I) = [W_ir; W_iz; W_in], ``weight_hh`` (3H, H), ``bias_ih`` (3H,),
        ``bias_hh`` (3H,); all drawn from U(-1/sqrt(H), 1/sqrt(H)).

    Initial state:
        zeros.

    Example:
        >>> cell = GRUCell(3, 4)
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
            gru_parameter_shapes(input_size, hidden_size, bias), {"device": device, "dtype": dtype}
        )
        self.reset_parameters()

    def initial_state(self, batch_size: int) -> torch.Tensor:
        """Zeros, (B, H)."""
        return self.weight_hh.new_zeros(
            (check_size("batch_size", batch_size, minimum=0), self.hidden_size)
        )

    def forward(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step: returns ``(y_t, state)``, both the new hidden state (B, H)."""
        self._check_step_input(x_t, [("h", state, self.hidden_size)])
        h, _ = gru_step(x_t, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h, h

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"
