r"""Long short-term memory (LSTM), in torch.nn's gate order, with optional peepholes and
projection: its step, its spec and its cell.

One step of one layer and direction (gate order i, f, g, o; bracketed terms with peepholes)::

    i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi [+ p_i * c_{t-1}])
    f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf [+ p_f * c_{t-1}])
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
    c_t = f_t * c_{t-1} + i_t * g_t
    o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho [+ p_o * c_t])
    h_t = o_t * tanh(c_t)            (with proj_size P > 0: h_t = (o_t * tanh(c_t)) W_hr^T)

The state is ``(h, c)``, :class:`LSTMState`, starting at zeros; the output is ``h`` (H units,
or P with a projection); ``record`` keeps ``c`` and the gates too. Parameters ``weight_ih``
(4H, I), ``weight_hh`` (4H, H or P), ``bias_ih`` and ``bias_hh`` (4H,), ``weight_hr`` (P, H)
with a projection, ``weight_peephole`` (3, H) with peepholes; U(-1/sqrt(H), 1/sqrt(H)), then
the forget gate's total bias set to ``forget_bias`` where one is given.

Hochreiter, S. and Schmidhuber, J. (1997). Long short-term memory. *Neural Computation*, 9(8).
Gers, F. A., Schmidhuber, J. and Cummins, F. (2000). Learning to forget: continual prediction
with LSTM. *Neural Computation*, 12(10) (the forget gate).
Gers, F. A. and Schmidhuber, J. (2000). Recurrent nets that time and count. *IJCNN* (peepholes).
Sak, H., Senior, A. and Beaufays, F. (2014). Long short-term memory recurrent neural network
architectures for large scale acoustic modeling. *Interspeech* (the projection, torch.nn.LSTM's
``proj_size``; only the layer :class:`rnnlab.LSTM` has it, as in torch.nn).
"""

from typing import NamedTuple

import torch
import torch.nn.functional as F

from rnnlab.cells.base import RecurrentCell, check_bool, check_size
from rnnlab.cells.spec import CellSpec, uniform_init


class LSTMState(NamedTuple):
    """The LSTM's state: hidden ``h`` and cell ``c``, in torch.nn's order."""

    h: torch.Tensor
    c: torch.Tensor


class LSTMTrace(NamedTuple):
    """Every step of an LSTM: ``hidden`` and ``cell`` (L*D, B, T, H), ``gates`` i, f, g, o
    (L*D, B, T, 4, H)."""

    hidden: torch.Tensor
    cell: torch.Tensor
    gates: torch.Tensor


def lstm_parameter_shapes(
    input_size: int, hidden_size: int, bias: bool, peephole: bool, proj_size: int = 0
) -> dict:
    """Parameter name -> shape (None where absent); gates stacked i, f, g, o.

    With ``proj_size`` P > 0 the recurrent state ``h`` has P units: ``weight_hh`` is (4H, P)
    and ``weight_hr`` (P, H) projects ``o * tanh(c)`` down to it, in torch.nn.LSTM's order
    (``weight_hr`` after the biases).
    """
    H, P = hidden_size, proj_size
    return {
        "weight_ih": (4 * H, input_size),
        "weight_hh": (4 * H, P or H),
        "bias_ih": (4 * H,) if bias else None,
        "bias_hh": (4 * H,) if bias else None,
        "weight_hr": (P, H) if P else None,
        "weight_peephole": (3, H) if peephole else None,
    }


def lstm_step(
    x_t: torch.Tensor,
    state: LSTMState,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None,
    bias_hh: torch.Tensor | None,
    weight_peephole: torch.Tensor | None = None,
    weight_hr: torch.Tensor | None = None,
) -> tuple[LSTMState, torch.Tensor]:
    """One LSTM step. Returns the new state and the gates ``i, f, g, o`` as (B, 4, H).

    With ``weight_hr`` (P, H) the new ``h`` is the projection ``(o * tanh(c)) W_hr^T``, (B, P),
    as in torch.nn.LSTM with ``proj_size=P``; ``c`` stays (B, H).
    """
    h, c = state
    a_i, a_f, a_g, a_o = (
        F.linear(x_t, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)
    ).chunk(4, dim=1)  # each (B, H)
    if weight_peephole is not None:
        a_i = a_i + weight_peephole[0] * c
        a_f = a_f + weight_peephole[1] * c
    i = torch.sigmoid(a_i)
    f = torch.sigmoid(a_f)
    g = torch.tanh(a_g)
    c_t = f * c + i * g
    if weight_peephole is not None:
        a_o = a_o + weight_peephole[2] * c_t  # the output gate peeks at the new cell (Gers 2000)
    o = torch.sigmoid(a_o)
    h_t = o * torch.tanh(c_t)
    if weight_hr is not None:
        h_t = F.linear(h_t, weight_hr)  # (B, P): the projection of Sak et al. (2014)
    return LSTMState(h_t, c_t), torch.stack((i, f, g, o), dim=1)


def check_forget_bias(forget_bias: object) -> float | None:
    """Return ``forget_bias`` as a float (or None), else raise naming what was got."""
    if forget_bias is None:
        return None
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, int | float):
        raise TypeError(f"forget_bias must be a number or None; got {forget_bias!r}")
    return float(forget_bias)


def set_forget_bias_(bias_ih: torch.Tensor, bias_hh: torch.Tensor, value: float) -> None:
    """Make the forget gate's total bias ``b_if + b_hf`` equal ``value``."""
    H = bias_ih.shape[0] // 4
    with torch.no_grad():
        bias_ih[H : 2 * H].fill_(value)
        bias_hh[H : 2 * H].zero_()


def lstm_options(
    hidden_size: int,
    bias: bool,
    *,
    proj_size: int = 0,
    peephole: bool = False,
    forget_bias: float | None = None,
) -> dict:
    """The LSTM layer's options: P (0 <= P < H, torch.nn's rule), peepholes, forget bias."""
    proj_size = check_size("proj_size", proj_size, minimum=0)
    if proj_size >= hidden_size:
        raise ValueError(
            f"proj_size must be smaller than hidden_size ({hidden_size}), as in "
            f"torch.nn.LSTM; got proj_size={proj_size}"
        )
    peephole = check_bool("peephole", peephole)
    forget_bias = check_forget_bias(forget_bias)
    if forget_bias is not None and not bias:
        raise ValueError("forget_bias needs bias=True; got bias=False")
    return {"proj_size": proj_size, "peephole": peephole, "forget_bias": forget_bias}


def _shapes(input_size, hidden_size, bias, options):
    return lstm_parameter_shapes(
        input_size, hidden_size, bias, options["peephole"], options["proj_size"]
    )


def _sizes(hidden_size, options):
    return (options["proj_size"] or hidden_size, hidden_size)  # h (P or H), c (H)


def _rest(options):
    return (0.0, 0.0)


def _step(x_t, state, p, options):
    new_state, gates = lstm_step(
        x_t, LSTMState(*state), p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
        p["weight_peephole"], p["weight_hr"],
    )  # fmt: skip
    return tuple(new_state), (new_state.h, new_state.c, gates)


def lstm_initialise(parameters, hidden_size, options, generator=None) -> None:
    """U(-1/sqrt(H), 1/sqrt(H)) everywhere, then the forget bias if one was asked for."""
    uniform_init(parameters, hidden_size, options, generator)
    if options["forget_bias"] is not None:
        set_forget_bias_(parameters["bias_ih"], parameters["bias_hh"], options["forget_bias"])


LSTM_SPEC = CellSpec(
    name="LSTM",
    parameter_shapes=_shapes,
    state_names=("h", "c"),
    step=_step,
    trace_type=LSTMTrace,
    check_options=lstm_options,
    state_sizes=_sizes,
    rest_values=_rest,
    state_type=LSTMState,
    state_layout="each (L*D, B, H) (h (L*D, B, P) with proj_size P)",
    initialise=lstm_initialise,
)


class LSTMCell(RecurrentCell):
    r"""One time step of a long short-term memory cell, as torch.nn.LSTMCell computes it::

        i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi [+ p_i * c_{t-1}])   input gate
        f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf [+ p_f * c_{t-1}])   forget gate
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)                        candidate
        c_t = f_t * c_{t-1} + i_t * g_t
        o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho [+ p_o * c_t])       output gate
        h_t = o_t * tanh(c_t)
        y_t = h_t

    The bracketed peephole terms (Gers & Schmidhuber 2000) are elementwise, one weight per cell,
    and present only with ``peephole=True``; without them this is exactly torch.nn.LSTMCell.
    The forget gate is Gers, Schmidhuber & Cummins (2000); the 1997 LSTM had none. Like
    torch.nn.LSTMCell, the cell has no projection; the layer :class:`rnnlab.LSTM` has
    ``proj_size``.

    Args:
        input_size: I.
        hidden_size: H.
        bias: learn ``b_ih`` and ``b_hh``.
        peephole: add the peephole weights ``weight_peephole``.
        forget_bias: if given (and ``bias``), initialise the forget gate's total bias to this
            value (``b_if = forget_bias``, ``b_hf = 0``); 1.0 is the common choice that keeps
            memories by default (Gers et al. 2000; Jozefowicz et al. 2015).

    Shapes:
        ``x_t`` (B, I); ``state`` is :class:`LSTMState` ``(h, c)``, each (B, H); ``y_t`` (B, H).

    Parameters (torch.nn.LSTMCell's names and gate order i, f, g, o):
        ``weight_ih`` (4H, I) = [W_ii; W_if; W_ig; W_io], ``weight_hh`` (4H, H),
        ``bias_ih`` (4H,), ``bias_hh`` (4H,), and with peepholes ``weight_peephole`` (3, H) =
        [p_i; p_f; p_o]; all drawn from U(-1/sqrt(H), 1/sqrt(H)).

    Initial state:
        ``h`` and ``c`` zeros.

    Example:
        >>> cell = LSTMCell(3, 4, forget_bias=1.0)
        >>> y_t, state = cell(torch.zeros(2, 3), cell.initial_state(2))
        >>> tuple(state.c.shape)
        (2, 4)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        *,
        peephole: bool = False,
        forget_bias: float | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.input_size = check_size("input_size", input_size, minimum=0)
        self.hidden_size = check_size("hidden_size", hidden_size, minimum=0)
        self.bias = check_bool("bias", bias)
        self.peephole = check_bool("peephole", peephole)
        self.forget_bias = check_forget_bias(forget_bias)
        if self.forget_bias is not None and not self.bias:
            raise ValueError("forget_bias needs bias=True; got bias=False")
        self._register(
            lstm_parameter_shapes(input_size, hidden_size, bias, peephole),
            {"device": device, "dtype": dtype},
        )
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) everywhere, then the forget bias if one was asked for."""
        super().reset_parameters(generator)
        if self.forget_bias is not None:
            set_forget_bias_(self.bias_ih, self.bias_hh, self.forget_bias)

    def initial_state(self, batch_size: int) -> LSTMState:
        """Zeros for ``h`` and ``c``, each (B, H)."""
        zeros = self.weight_hh.new_zeros(
            (check_size("batch_size", batch_size, minimum=0), self.hidden_size)
        )
        return LSTMState(zeros, zeros.clone())

    def forward(self, x_t: torch.Tensor, state: LSTMState) -> tuple[torch.Tensor, LSTMState]:
        """Advance one step: returns ``(y_t, state)`` with ``y_t = state.h`` (B, H)."""
        if not (isinstance(state, tuple) and len(state) == 2):
            raise TypeError(f"state must be an LSTMState(h, c); got {type(state).__name__}")
        self._check_step_input(
            x_t, [("h", state[0], self.hidden_size), ("c", state[1], self.hidden_size)]
        )
        new_state, _ = lstm_step(
            x_t,
            LSTMState(*state),
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
            self.weight_peephole,
        )
        return new_state.h, new_state

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, bias={self.bias}, peephole={self.peephole}, "
            f"forget_bias={self.forget_bias}"
        )
