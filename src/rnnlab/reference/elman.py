r"""Elman's simple recurrent network in NumPy: the forward pass and backpropagation through time.

The network (Elman 1990), one layer, one direction, batch first. Time steps are numbered
``t = 1, ..., T``; ``h_0`` is the initial state. For every step::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh        net input          (B, H)
    h_t = f(a_t)                                       hidden state       (B, H)
    y_t = h_t                                          output             (B, H)

with ``f`` one of ``tanh``, ``relu`` or the logistic ``sigmoid``. In code a batch of row vectors
is multiplied by the transposed matrix: ``W_ih x_t`` is ``x_t @ W_ih.T``.

Backpropagation through time (Rumelhart, Hinton & Williams 1986; Werbos 1990) unrolls the
network into a feedforward net with one layer per step whose weights are shared across steps,
and runs ordinary backpropagation through it, from ``t = T`` down to ``t = 1``. Write ``dv`` for
``∂L/∂v``, the gradient of the scalar loss ``L`` with respect to ``v``. Given the upstream
gradients ``dy_t`` (of every output) and ``dh_T`` (of the final state)::

    δh_T     = dy_T + dh_T                              h_T is both output and final state
    δh_t     = dy_t + δa_{t+1} W_hh                     (t < T) via y_t and via a_{t+1}
    δa_t     = δh_t ⊙ f'(a_t)                           through h_t = f(a_t)
    dW_ih    = Σ_t δa_tᵀ x_t        dW_hh = Σ_t δa_tᵀ h_{t-1}
    db_ih    = Σ_t Σ_batch δa_t     db_hh = Σ_t Σ_batch δa_t
    dx_t     = δa_t W_ih
    dh_0     = δa_1 W_hh

where ``f'(a) = 1 - f(a)²`` for tanh, ``f(a) (1 - f(a))`` for sigmoid and ``[a > 0]`` for relu
(0 at the kink, as torch does). The weights are shared across steps, so their gradients are
sums over steps.

References:
    Elman, J. L. (1990). Finding structure in time. *Cognitive Science*, 14(2), 179-211.
    Rumelhart, D. E., Hinton, G. E. and Williams, R. J. (1986). Learning representations by
    back-propagating errors. *Nature*, 323, 533-536.
    Werbos, P. J. (1990). Backpropagation through time: what it does and how to do it.
    *Proceedings of the IEEE*, 78(10), 1550-1560.

Example:
    >>> rng = np.random.default_rng(0)
    >>> B, T, I, H = 2, 3, 4, 5
    >>> params = {
    ...     "weight_ih": rng.normal(size=(H, I)),
    ...     "weight_hh": rng.normal(size=(H, H)),
    ...     "bias_ih": None,
    ...     "bias_hh": None,
    ... }
    >>> x, h0 = rng.normal(size=(B, T, I)), np.zeros((B, H))
    >>> outputs, h_T, cache = forward(x, h0, params, nonlinearity="tanh")
    >>> grads = backward(np.ones_like(outputs), np.zeros_like(h_T), cache)
    >>> sorted(grads)
    ['state', 'weight_hh', 'weight_ih', 'x']
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rnnlab.reference.shared import check_array, check_params, check_sequence, linear, sigmoid

NONLINEARITIES = ("tanh", "relu", "sigmoid")


@dataclass(frozen=True)
class ElmanCache:
    """What the forward pass keeps for the backward pass.

    Attributes:
        x: the inputs, (B, T, I); ``x[:, t - 1]`` is ``x_t``.
        h: every state, (B, T + 1, H); ``h[:, 0]`` is ``h_0`` and ``h[:, t]`` is ``h_t``.
        a: every net input, (B, T, H); ``a[:, t - 1]`` is ``a_t``.
        params: the parameters, float64 arrays (or None for absent biases).
        nonlinearity: ``"tanh"``, ``"relu"`` or ``"sigmoid"``.
    """

    x: np.ndarray
    h: np.ndarray
    a: np.ndarray
    params: dict[str, np.ndarray | None]
    nonlinearity: str


def activation(nonlinearity: str, a: np.ndarray) -> np.ndarray:
    """``f(a)`` for the named nonlinearity."""
    if nonlinearity == "tanh":
        return np.tanh(a)
    if nonlinearity == "sigmoid":
        return sigmoid(a)
    return np.maximum(a, 0.0)  # relu


def activation_derivative(nonlinearity: str, a: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``f'(a)``, written with ``h = f(a)`` where that is simplest."""
    if nonlinearity == "tanh":
        return 1.0 - h**2  # d tanh(a)/da = 1 - tanh(a)^2
    if nonlinearity == "sigmoid":
        return h * (1.0 - h)  # d sigmoid(a)/da = sigmoid(a) (1 - sigmoid(a))
    return (a > 0).astype(np.float64)  # d relu(a)/da = 1 for a > 0, else 0


def forward(
    x: np.ndarray,
    state: np.ndarray,
    params: Mapping[str, np.ndarray | None],
    nonlinearity: str = "tanh",
) -> tuple[np.ndarray, np.ndarray, ElmanCache]:
    """Run the Elman network over a batch of sequences.

    Args:
        x: inputs, (B, T, I).
        state: the initial state ``h_0``, (B, H).
        params: ``weight_ih`` (H, I), ``weight_hh`` (H, H), ``bias_ih`` (H,) and ``bias_hh``
            (H,), torch.nn's names; a bias may be None or absent (no bias).
        nonlinearity: ``f``, one of ``"tanh"``, ``"relu"`` or ``"sigmoid"``.

    Returns:
        ``(outputs, final_state, cache)``: ``outputs`` (B, T, H) holds ``h_1, ..., h_T``;
        ``final_state`` is ``h_T`` (B, H); ``cache`` is what :func:`backward` needs.

    Raises:
        ValueError: an unknown nonlinearity, or an array of the wrong shape.
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(
            f"nonlinearity must be one of {', '.join(map(repr, NONLINEARITIES))}; "
            f"got {nonlinearity!r}"
        )
    x = check_sequence(x)
    B, T, I = x.shape
    params, H = check_params(params, gates=1, input_size=I)
    state = check_array("state", state, (B, H), "(B, H)")
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]  # (H, I), (H, H)
    b_ih, b_hh = params["bias_ih"], params["bias_hh"]  # (H,) or None

    h = np.empty((B, T + 1, H))
    a = np.empty((B, T, H))
    h[:, 0] = state  # h_0
    for t in range(1, T + 1):
        x_t = x[:, t - 1]  # (B, I); Python counts steps from 0
        h_prev = h[:, t - 1]  # (B, H), h_{t-1}
        a_t = linear(x_t, W_ih, b_ih) + linear(h_prev, W_hh, b_hh)  # (B, H)
        h_t = activation(nonlinearity, a_t)  # (B, H)
        a[:, t - 1] = a_t
        h[:, t] = h_t

    outputs = h[:, 1:].copy()  # (B, T, H), y_t = h_t
    final_state = h[:, T].copy()  # (B, H)
    return outputs, final_state, ElmanCache(x, h, a, params, nonlinearity)


def backward(
    d_outputs: np.ndarray | None, d_final_state: np.ndarray | None, cache: ElmanCache
) -> dict[str, np.ndarray]:
    """Backpropagation through time for :func:`forward`.

    Args:
        d_outputs: ``∂L/∂outputs``, (B, T, H); None for zeros.
        d_final_state: ``∂L/∂final_state``, (B, H); None for zeros. The final state is also
            ``outputs[:, -1]``, so the two gradients add.
        cache: the third value :func:`forward` returned.

    Returns:
        ``∂L/∂`` of every input: ``"x"`` (B, T, I), ``"state"`` (B, H), and every parameter
        present: ``"weight_ih"``, ``"weight_hh"``, ``"bias_ih"``, ``"bias_hh"``.

    Raises:
        ValueError: an upstream gradient of the wrong shape.
    """
    x, h, a, params = cache.x, cache.h, cache.a, cache.params
    B, T, _ = x.shape
    H = h.shape[2]
    d_outputs = np.zeros((B, T, H)) if d_outputs is None else d_outputs
    d_final_state = np.zeros((B, H)) if d_final_state is None else d_final_state
    d_outputs = check_array("d_outputs", d_outputs, (B, T, H), "(B, T, H)")
    d_final_state = check_array("d_final_state", d_final_state, (B, H), "(B, H)")
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]

    dx = np.zeros_like(x)  # (B, T, I)
    dW_ih = np.zeros_like(W_ih)  # (H, I)
    dW_hh = np.zeros_like(W_hh)  # (H, H)
    db = np.zeros(H)  # (H,); b_ih and b_hh enter a_t the same way, so they share a gradient
    dh_next = d_final_state  # (B, H), what reaches h_T from beyond the sequence
    for t in range(T, 0, -1):
        x_t = x[:, t - 1]  # (B, I)
        h_prev = h[:, t - 1]  # (B, H), h_{t-1}
        # h_t is read by the output y_t and by the next step (dh_next); the gradients add.
        dh_t = d_outputs[:, t - 1] + dh_next  # (B, H)
        # h_t = f(a_t): multiply by f'(a_t) elementwise.
        da_t = dh_t * activation_derivative(cache.nonlinearity, a[:, t - 1], h[:, t])  # (B, H)
        # a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh; shared weights sum over steps.
        dW_ih += da_t.T @ x_t  # (H, I), ∂a_t/∂W_ih brings x_t
        dW_hh += da_t.T @ h_prev  # (H, H), ∂a_t/∂W_hh brings h_{t-1}
        db += da_t.sum(axis=0)  # (H,), each sequence in the batch adds its share
        dx[:, t - 1] = da_t @ W_ih  # (B, I), ∂a_t/∂x_t = W_ih
        dh_next = da_t @ W_hh  # (B, H), ∂a_t/∂h_{t-1} = W_hh: on to step t - 1

    grads = {"x": dx, "state": dh_next, "weight_ih": dW_ih, "weight_hh": dW_hh}
    for name in ("bias_ih", "bias_hh"):
        if params[name] is not None:
            grads[name] = db.copy()
    return grads
