r"""The continuous-time rate network in NumPy: Euler's method forward, backpropagation through
time backward.

The network (Song, Yang & Wang 2016), one layer, one direction, batch first, on the weights a
step applies (after Dale's law and any connectivity mask: those are a map of the parameters,
``W_hh_eff = mask * |W_hh| diag(s)``, that the caller applies and differentiates). Time steps
are numbered ``t = 1, ..., T``; ``v_0`` is the initial state (the currents). For every step::

    h_{t-1} = f(v_{t-1})                                         rates              (B, H)
    p_t     = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh              drive              (B, H)
    v_t     = (1 - alpha) v_{t-1} + alpha p_t + n_t              currents (state)   (B, H)
    y_t     = f(v_t)                                             output (the rates) (B, H)

with ``alpha = dt / tau`` (a number, or one per unit, (H,)), ``n_t`` the recurrent noise as
added to the currents (``sigma_rec sqrt(2 alpha) xi_t``; zeros for none) and ``f`` one of
``relu``, ``softplus``, ``tanh``, ``retanh`` (max(0, tanh)) or ``sigmoid``.

Backpropagation through time, with ``dv`` for ``∂L/∂v``; given the upstream gradients ``dy_t``
(of every output) and ``dv_T`` (of the final state). The current ``v_t`` reaches the loss
through its output ``y_t = f(v_t)``, through the next step's leak ``(1 - alpha) v_t`` and
through the next step's drive, which reads ``f(v_t)``::

    δv_T     = dv_T + dy_T ⊙ f'(v_T)
    δv_t     = δv_{t+1} ⊙ (1 - alpha)                            the leak
               + (dy_t + δp_{t+1} W_hh) ⊙ f'(v_t)               (t < T) the rate, read twice
    δp_t     = alpha ⊙ δv_t                                      through v_t = ... + alpha p_t
    dW_ih    = Σ_t δp_tᵀ x_t        dW_hh = Σ_t δp_tᵀ h_{t-1}   db_ih = db_hh = Σ_t Σ_batch δp_t
    dx_t     = δp_t W_ih
    dalpha   = Σ_t Σ_batch δv_t ⊙ (p_t - v_{t-1})               (summed to a number if alpha is)
    dn_t     = δv_t
    dv_0     = δv_1 ⊙ (1 - alpha) + (δp_1 W_hh) ⊙ f'(v_0)

where ``f'`` is ``[v > 0]`` for relu (0 at the kink, as torch), the logistic function for
softplus, ``1 - f(v)²`` for tanh, ``[v > 0] (1 - tanh(v)²)`` for retanh and ``f(v) (1 - f(v))``
for sigmoid.

References:
    Song, H. F., Yang, G. R. and Wang, X.-J. (2016). Training excitatory-inhibitory recurrent
    neural networks for cognitive tasks: a simple and flexible framework. *PLoS Computational
    Biology*, 12(2), e1004792.
    Werbos, P. J. (1990). Backpropagation through time: what it does and how to do it.
    *Proceedings of the IEEE*, 78(10), 1550-1560.

Example:
    >>> rng = np.random.default_rng(0)
    >>> B, T, I, H = 2, 3, 4, 5
    >>> params = {"weight_ih": rng.normal(size=(H, I)), "weight_hh": rng.normal(size=(H, H))}
    >>> x, v0 = rng.normal(size=(B, T, I)), np.zeros((B, H))
    >>> outputs, v_T, cache = forward(x, v0, params, alpha=0.2, nonlinearity="relu")
    >>> grads = backward(np.ones_like(outputs), np.zeros_like(v_T), cache)
    >>> sorted(grads)
    ['alpha', 'noise', 'state', 'weight_hh', 'weight_ih', 'x']
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rnnlab.reference.shared import check_array, check_params, check_sequence, linear, sigmoid

NONLINEARITIES = ("relu", "softplus", "tanh", "retanh", "sigmoid")


@dataclass(frozen=True)
class CTRNNCache:
    """What the forward pass keeps for the backward pass.

    Attributes:
        x: the inputs, (B, T, I); ``x[:, t - 1]`` is ``x_t``.
        v: every state, (B, T + 1, H); ``v[:, 0]`` is ``v_0`` and ``v[:, t]`` is ``v_t``.
        p: every drive, (B, T, H); ``p[:, t - 1]`` is ``p_t``.
        params: the weights a step applies, float64 arrays (None for absent biases).
        alpha: dt / tau, a float or an (H,) array.
        nonlinearity: the name of ``f``.
    """

    x: np.ndarray
    v: np.ndarray
    p: np.ndarray
    params: dict[str, np.ndarray | None]
    alpha: float | np.ndarray
    nonlinearity: str


def activation(nonlinearity: str, v: np.ndarray) -> np.ndarray:
    """``f(v)`` for the named nonlinearity."""
    if nonlinearity == "relu":
        return np.maximum(v, 0.0)
    if nonlinearity == "softplus":
        return np.logaddexp(0.0, v)  # log(1 + exp(v)), without overflow
    if nonlinearity == "tanh":
        return np.tanh(v)
    if nonlinearity == "retanh":
        return np.maximum(np.tanh(v), 0.0)
    return sigmoid(v)


def activation_derivative(nonlinearity: str, v: np.ndarray) -> np.ndarray:
    """``f'(v)``."""
    if nonlinearity == "relu":
        return (v > 0).astype(np.float64)  # 1 for v > 0, else 0 (also at the kink)
    if nonlinearity == "softplus":
        return sigmoid(v)  # d log(1 + e^v)/dv = e^v / (1 + e^v)
    if nonlinearity == "tanh":
        return 1.0 - np.tanh(v) ** 2
    if nonlinearity == "retanh":
        return (v > 0) * (1.0 - np.tanh(v) ** 2)  # tanh's slope where tanh > 0, else 0
    s = sigmoid(v)
    return s * (1.0 - s)


def forward(
    x: np.ndarray,
    state: np.ndarray,
    params: Mapping[str, np.ndarray | None],
    alpha: float | np.ndarray,
    nonlinearity: str = "relu",
    noise: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, CTRNNCache]:
    """Run the network over a batch of sequences by Euler's method.

    Args:
        x: inputs, (B, T, I).
        state: the initial currents ``v_0``, (B, H).
        params: the weights a step applies, ``weight_ih`` (H, I), ``weight_hh`` (H, H),
            ``bias_ih`` and ``bias_hh`` (H,) (each bias None or absent for none).
        alpha: dt / tau, a number or one per unit (H,).
        nonlinearity: ``f``, one of :data:`NONLINEARITIES`.
        noise: the recurrent noise as added to the currents, (B, T, H), or None.

    Returns:
        ``(outputs, final_state, cache)``: ``outputs`` (B, T, H) holds the rates ``y_1, ...,
        y_T``; ``final_state`` is ``v_T`` (B, H); ``cache`` is what :func:`backward` needs.

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
    alpha = float(alpha) if np.ndim(alpha) == 0 else check_array("alpha", alpha, (H,), "(H,)")
    noise = np.zeros((B, T, H)) if noise is None else check_array(
        "noise", noise, (B, T, H), "(B, T, H)"
    )  # fmt: skip
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]  # (H, I), (H, H)
    b_ih, b_hh = params["bias_ih"], params["bias_hh"]  # (H,) or None

    v = np.empty((B, T + 1, H))
    p = np.empty((B, T, H))
    v[:, 0] = state  # v_0
    for t in range(1, T + 1):
        h_prev = activation(nonlinearity, v[:, t - 1])  # (B, H), h_{t-1} = f(v_{t-1})
        p_t = linear(x[:, t - 1], W_ih, b_ih) + linear(h_prev, W_hh, b_hh)  # (B, H)
        v[:, t] = (1.0 - alpha) * v[:, t - 1] + alpha * p_t + noise[:, t - 1]  # Euler
        p[:, t - 1] = p_t

    outputs = activation(nonlinearity, v[:, 1:])  # (B, T, H), y_t = f(v_t)
    final_state = v[:, T].copy()  # (B, H)
    return outputs, final_state, CTRNNCache(x, v, p, params, alpha, nonlinearity)


def backward(
    d_outputs: np.ndarray | None, d_final_state: np.ndarray | None, cache: CTRNNCache
) -> dict[str, np.ndarray | float]:
    """Backpropagation through time for :func:`forward`.

    Args:
        d_outputs: ``∂L/∂outputs``, (B, T, H); None for zeros.
        d_final_state: ``∂L/∂final_state``, (B, H); None for zeros.
        cache: the third value :func:`forward` returned.

    Returns:
        ``∂L/∂`` of every input: ``"x"`` (B, T, I), ``"state"`` (B, H), ``"alpha"`` (a
        float, or (H,) if alpha was per unit), ``"noise"`` (B, T, H), and every weight
        present: ``"weight_ih"``, ``"weight_hh"``, ``"bias_ih"``, ``"bias_hh"``.

    Raises:
        ValueError: an upstream gradient of the wrong shape.
    """
    x, v, p, params = cache.x, cache.v, cache.p, cache.params
    alpha, f = cache.alpha, cache.nonlinearity
    B, T, _ = x.shape
    H = v.shape[2]
    d_outputs = np.zeros((B, T, H)) if d_outputs is None else d_outputs
    d_final_state = np.zeros((B, H)) if d_final_state is None else d_final_state
    d_outputs = check_array("d_outputs", d_outputs, (B, T, H), "(B, T, H)")
    d_final_state = check_array("d_final_state", d_final_state, (B, H), "(B, H)")
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]

    dx = np.zeros_like(x)  # (B, T, I)
    dW_ih = np.zeros_like(W_ih)  # (H, I)
    dW_hh = np.zeros_like(W_hh)  # (H, H)
    db = np.zeros(H)  # (H,); b_ih and b_hh enter p_t the same way, so they share a gradient
    d_alpha = np.zeros(H)  # (H,), summed to a number at the end if alpha is one
    d_noise = np.zeros((B, T, H))
    dv_next = d_final_state  # (B, H): what reaches v_T from beyond the sequence, and then
    # what reaches v_t through v_{t+1}'s leak
    dh_next = np.zeros((B, H))  # what reaches h_t = f(v_t) through the drive p_{t+1}
    for t in range(T, 0, -1):
        v_t, v_prev = v[:, t], v[:, t - 1]  # (B, H)
        # v_t is read by its output y_t = f(v_t), by p_{t+1} through f(v_t), and by v_{t+1}.
        dv_t = dv_next + (d_outputs[:, t - 1] + dh_next) * activation_derivative(f, v_t)
        d_noise[:, t - 1] = dv_t  # ∂v_t/∂n_t = 1
        d_alpha += (dv_t * (p[:, t - 1] - v_prev)).sum(axis=0)  # ∂v_t/∂alpha = p_t - v_{t-1}
        dp_t = alpha * dv_t  # (B, H), ∂v_t/∂p_t = alpha
        h_prev = activation(f, v_prev)  # (B, H), h_{t-1}
        dW_ih += dp_t.T @ x[:, t - 1]  # (H, I), ∂p_t/∂W_ih brings x_t
        dW_hh += dp_t.T @ h_prev  # (H, H), ∂p_t/∂W_hh brings h_{t-1}
        db += dp_t.sum(axis=0)  # (H,)
        dx[:, t - 1] = dp_t @ W_ih  # (B, I), ∂p_t/∂x_t = W_ih
        dh_next = dp_t @ W_hh  # (B, H), ∂p_t/∂h_{t-1} = W_hh: on to h_{t-1}
        dv_next = (1.0 - alpha) * dv_t  # (B, H), ∂v_t/∂v_{t-1} through the leak
    # v_0 reaches v_1 through the leak and p_1 through h_0 = f(v_0).
    d_state = dv_next + dh_next * activation_derivative(f, v[:, 0])

    grads: dict[str, np.ndarray | float] = {
        "x": dx,
        "state": d_state,
        "weight_ih": dW_ih,
        "weight_hh": dW_hh,
        "alpha": float(d_alpha.sum()) if isinstance(alpha, float) else d_alpha,
        "noise": d_noise,
    }
    for name in ("bias_ih", "bias_hh"):
        if params[name] is not None:
            grads[name] = db.copy()
    return grads
