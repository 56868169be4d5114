r"""Long short-term memory in NumPy: the forward pass and backpropagation through time.

The LSTM of Hochreiter & Schmidhuber (1997) with the forget gate of Gers, Schmidhuber &
Cummins (2000) and optional peepholes (Gers & Schmidhuber 2000), in torch.nn's gate order
i, f, g, o; one layer, one direction, batch first. Time steps are numbered ``t = 1, ..., T``;
``h_0, c_0`` is the initial state. For every step::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh = [a_i, a_f, a_g, a_o]     (B, 4H)
    i_t = sigmoid(a_i [+ p_i ⊙ c_{t-1}])        input gate                (B, H)
    f_t = sigmoid(a_f [+ p_f ⊙ c_{t-1}])        forget gate               (B, H)
    g_t = tanh(a_g)                             candidate                 (B, H)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t             cell                      (B, H)
    o_t = sigmoid(a_o [+ p_o ⊙ c_t])            output gate               (B, H)
    h_t = o_t ⊙ tanh(c_t)                       hidden state              (B, H)
    y_t = h_t

The bracketed peephole terms are present when ``params["weight_peephole"]`` = [p_i; p_f; p_o]
(3, H) is given; note the output gate looks at the *new* cell ``c_t``. The weights are stacked
in gate order: ``weight_ih`` = [W_ii; W_if; W_ig; W_io] (4H, I), ``weight_hh`` (4H, H), the
biases (4H,).

Backpropagation through time (Rumelhart, Hinton & Williams 1986; Werbos 1990) goes from
``t = T`` down to ``t = 1`` and carries two gradients back, ``δh`` and ``δc``. With ``dv`` for
``∂L/∂v``, ``δh_t`` the total gradient of ``h_t`` (from ``y_t`` and from step ``t + 1``) and
``δc_t^next`` what reaches ``c_t`` from step ``t + 1`` (``dc_T`` at the end)::

    do_t   = δh_t ⊙ tanh(c_t)                               through h_t = o tanh(c)
    δa_o   = do_t ⊙ o_t (1 - o_t)                           through sigmoid
    δc_t   = δc_t^next + δh_t ⊙ o_t (1 - tanh²(c_t)) [+ δa_o ⊙ p_o]
    di_t   = δc_t ⊙ g_t;   df_t = δc_t ⊙ c_{t-1};   dg_t = δc_t ⊙ i_t
    δa_i   = di_t ⊙ i_t (1 - i_t);   δa_f = df_t ⊙ f_t (1 - f_t);   δa_g = dg_t ⊙ (1 - g_t²)
    δc_{t-1}^next = δc_t ⊙ f_t [+ δa_i ⊙ p_i + δa_f ⊙ p_f]
    dp_i   = Σ_t Σ_batch δa_i ⊙ c_{t-1};   dp_f likewise;   dp_o = Σ_t Σ_batch δa_o ⊙ c_t
    δa_t   = [δa_i, δa_f, δa_g, δa_o]                       (B, 4H)
    dW_ih  = Σ_t δa_tᵀ x_t;   dW_hh = Σ_t δa_tᵀ h_{t-1};   db_ih = db_hh = Σ_t Σ_batch δa_t
    dx_t   = δa_t W_ih;   (gradient to h_{t-1}) = δa_t W_hh

References:
    Hochreiter, S. and Schmidhuber, J. (1997). Long short-term memory. *Neural Computation*,
    9(8), 1735-1780.
    Gers, F. A., Schmidhuber, J. and Cummins, F. (2000). Learning to forget: continual
    prediction with LSTM. *Neural Computation*, 12(10), 2451-2471.
    Gers, F. A. and Schmidhuber, J. (2000). Recurrent nets that time and count. *IJCNN*.
    Rumelhart, D. E., Hinton, G. E. and Williams, R. J. (1986). Learning representations by
    back-propagating errors. *Nature*, 323, 533-536.
    Werbos, P. J. (1990). Backpropagation through time: what it does and how to do it.
    *Proceedings of the IEEE*, 78(10), 1550-1560.

Example:
    >>> rng = np.random.default_rng(0)
    >>> B, T, I, H = 2, 3, 4, 5
    >>> params = {
    ...     "weight_ih": rng.normal(size=(4 * H, I)),
    ...     "weight_hh": rng.normal(size=(4 * H, H)),
    ...     "weight_peephole": rng.normal(size=(3, H)),
    ... }
    >>> state = (np.zeros((B, H)), np.zeros((B, H)))
    >>> outputs, (h_T, c_T), cache = forward(rng.normal(size=(B, T, I)), state, params)
    >>> grads = backward(np.ones_like(outputs), (None, np.ones_like(c_T)), cache)
    >>> sorted(grads)
    ['c', 'h', 'weight_hh', 'weight_ih', 'weight_peephole', 'x']
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rnnlab.reference.shared import check_array, check_params, check_sequence, linear, sigmoid


@dataclass(frozen=True)
class LSTMCache:
    """What the forward pass keeps for the backward pass.

    Attributes:
        x: the inputs, (B, T, I); ``x[:, t - 1]`` is ``x_t``.
        h, c: every hidden state and cell, each (B, T + 1, H); index 0 is the initial state
            and index ``t`` step ``t``.
        i, f, g, o: the gates and candidate, each (B, T, H); column ``t - 1`` holds step ``t``.
        params: the parameters, float64 arrays (or None for absent biases and peepholes).
    """

    x: np.ndarray
    h: np.ndarray
    c: np.ndarray
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    params: dict[str, np.ndarray | None]


def forward(
    x: np.ndarray,
    state: tuple[np.ndarray, np.ndarray],
    params: Mapping[str, np.ndarray | None],
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], LSTMCache]:
    """Run the LSTM over a batch of sequences.

    Args:
        x: inputs, (B, T, I).
        state: the initial state ``(h_0, c_0)``, each (B, H).
        params: ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``bias_ih`` (4H,), ``bias_hh``
            (4H,), torch.nn's names and gate order i, f, g, o, and optionally
            ``weight_peephole`` (3, H) = [p_i; p_f; p_o]. A bias or the peepholes may be None
            or absent.

    Returns:
        ``(outputs, (h_T, c_T), cache)``: ``outputs`` (B, T, H) holds ``h_1, ..., h_T``;
        ``h_T`` and ``c_T`` are (B, H); ``cache`` is what :func:`backward` needs.

    Raises:
        ValueError: a state that is not a pair, or an array of the wrong shape.
    """
    x = check_sequence(x)
    B, T, I = x.shape
    params, H = check_params(params, gates=4, input_size=I, extra_names=("weight_peephole",))
    if params["weight_peephole"] is not None:
        params["weight_peephole"] = check_array(
            "weight_peephole", params["weight_peephole"], (3, H), "(3, H)"
        )
    if not (isinstance(state, tuple | list) and len(state) == 2):
        raise ValueError(f"state must be a pair (h_0, c_0) of (B, H) arrays; got {state!r:.60}")
    h_0 = check_array("state h", state[0], (B, H), "(B, H)")
    c_0 = check_array("state c", state[1], (B, H), "(B, H)")
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]  # (4H, I), (4H, H)
    b_ih, b_hh = params["bias_ih"], params["bias_hh"]  # (4H,) or None
    P = params["weight_peephole"]  # (3, H) or None

    h = np.empty((B, T + 1, H))
    c = np.empty((B, T + 1, H))
    i, f, g, o = (np.empty((B, T, H)) for _ in range(4))
    h[:, 0], c[:, 0] = h_0, c_0
    for t in range(1, T + 1):
        x_t = x[:, t - 1]  # (B, I); Python counts steps from 0
        h_prev, c_prev = h[:, t - 1], c[:, t - 1]  # (B, H) each
        a = linear(x_t, W_ih, b_ih) + linear(h_prev, W_hh, b_hh)  # (B, 4H)
        a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)  # each (B, H)
        if P is not None:
            a_i = a_i + P[0] * c_prev  # the input gate peeks at the old cell
            a_f = a_f + P[1] * c_prev  # so does the forget gate
        i_t = sigmoid(a_i)  # (B, H)
        f_t = sigmoid(a_f)  # (B, H)
        g_t = np.tanh(a_g)  # (B, H)
        c_t = f_t * c_prev + i_t * g_t  # (B, H)
        if P is not None:
            a_o = a_o + P[2] * c_t  # the output gate peeks at the new cell
        o_t = sigmoid(a_o)  # (B, H)
        h[:, t] = o_t * np.tanh(c_t)  # (B, H)
        c[:, t] = c_t
        i[:, t - 1], f[:, t - 1], g[:, t - 1], o[:, t - 1] = i_t, f_t, g_t, o_t

    outputs = h[:, 1:].copy()  # (B, T, H), y_t = h_t
    final_state = (h[:, T].copy(), c[:, T].copy())  # (B, H) each
    return outputs, final_state, LSTMCache(x, h, c, i, f, g, o, params)


def backward(
    d_outputs: np.ndarray | None,
    d_final_state: tuple[np.ndarray | None, np.ndarray | None] | None,
    cache: LSTMCache,
) -> dict[str, np.ndarray]:
    """Backpropagation through time for :func:`forward`.

    Args:
        d_outputs: ``∂L/∂outputs``, (B, T, H); None for zeros.
        d_final_state: ``(∂L/∂h_T, ∂L/∂c_T)``, each (B, H) or None for zeros; or None for
            both zero. ``h_T`` is also ``outputs[:, -1]``, so those two gradients add.
        cache: the third value :func:`forward` returned.

    Returns:
        ``∂L/∂`` of every input: ``"x"`` (B, T, I), ``"h"`` and ``"c"`` (the initial state,
        (B, H) each), and every parameter present: ``"weight_ih"``, ``"weight_hh"``,
        ``"bias_ih"``, ``"bias_hh"``, ``"weight_peephole"``.

    Raises:
        ValueError: an upstream gradient of the wrong shape, or a final-state gradient that is
            not a pair.
    """
    x, h, c, params = cache.x, cache.h, cache.c, cache.params
    B, T, _ = x.shape
    H = h.shape[2]
    d_final_state = (None, None) if d_final_state is None else d_final_state
    if not (isinstance(d_final_state, tuple | list) and len(d_final_state) == 2):
        raise ValueError(
            f"d_final_state must be a pair (dh_T, dc_T) of (B, H) arrays or None; "
            f"got {d_final_state!r:.60}"
        )
    dh_T, dc_T = (np.zeros((B, H)) if d is None else d for d in d_final_state)
    d_outputs = np.zeros((B, T, H)) if d_outputs is None else d_outputs
    d_outputs = check_array("d_outputs", d_outputs, (B, T, H), "(B, T, H)")
    dh_T = check_array("d_final_state h", dh_T, (B, H), "(B, H)")
    dc_T = check_array("d_final_state c", dc_T, (B, H), "(B, H)")
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    P = params["weight_peephole"]  # (3, H) or None

    dx = np.zeros_like(x)  # (B, T, I)
    dW_ih = np.zeros_like(W_ih)  # (4H, I)
    dW_hh = np.zeros_like(W_hh)  # (4H, H)
    db = np.zeros(4 * H)  # (4H,); b_ih and b_hh enter a_t the same way, so they share a gradient
    dP = np.zeros((3, H))  # (3, H)
    dh_next, dc_next = dh_T, dc_T  # (B, H) each, what reaches h_T and c_T from beyond
    for t in range(T, 0, -1):
        x_t = x[:, t - 1]  # (B, I)
        h_prev, c_prev, c_t = h[:, t - 1], c[:, t - 1], c[:, t]  # (B, H) each
        i_t, f_t = cache.i[:, t - 1], cache.f[:, t - 1]  # (B, H) each
        g_t, o_t = cache.g[:, t - 1], cache.o[:, t - 1]  # (B, H) each
        tanh_c = np.tanh(c_t)  # (B, H)
        # h_t is read by the output y_t and by the next step (dh_next); the gradients add.
        dh_t = d_outputs[:, t - 1] + dh_next  # (B, H)
        # h_t = o_t tanh(c_t): the product rule, first the o_t factor.
        do_t = dh_t * tanh_c  # (B, H), ∂h_t/∂o_t = tanh(c_t)
        da_o = do_t * o_t * (1.0 - o_t)  # (B, H), sigmoid' = sigmoid (1 - sigmoid)
        # c_t reaches the loss three ways: via step t + 1, via tanh(c_t) in h_t, via the
        # output peephole p_o c_t.
        dc_t = dc_next + dh_t * o_t * (1.0 - tanh_c**2)  # (B, H), ∂h_t/∂c_t = o_t tanh'(c_t)
        if P is not None:
            dc_t = dc_t + da_o * P[2]  # (B, H), ∂a_o/∂c_t = p_o
        # c_t = f_t c_{t-1} + i_t g_t.
        di_t = dc_t * g_t  # (B, H), ∂c_t/∂i_t = g_t
        df_t = dc_t * c_prev  # (B, H), ∂c_t/∂f_t = c_{t-1}
        dg_t = dc_t * i_t  # (B, H), ∂c_t/∂g_t = i_t
        dc_prev = dc_t * f_t  # (B, H), the direct path ∂c_t/∂c_{t-1} = f_t
        # The gates' nonlinearities.
        da_i = di_t * i_t * (1.0 - i_t)  # (B, H), sigmoid'
        da_f = df_t * f_t * (1.0 - f_t)  # (B, H), sigmoid'
        da_g = dg_t * (1.0 - g_t**2)  # (B, H), tanh' = 1 - tanh^2
        if P is not None:
            dc_prev = dc_prev + da_i * P[0] + da_f * P[1]  # (B, H), the i and f peepholes
            dP[0] += (da_i * c_prev).sum(axis=0)  # (H,), ∂a_i/∂p_i = c_{t-1}
            dP[1] += (da_f * c_prev).sum(axis=0)  # (H,), ∂a_f/∂p_f = c_{t-1}
            dP[2] += (da_o * c_t).sum(axis=0)  # (H,), ∂a_o/∂p_o = c_t
        da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # (B, 4H), ∂L/∂a_t
        # a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh; shared weights sum over steps.
        dW_ih += da.T @ x_t  # (4H, I)
        dW_hh += da.T @ h_prev  # (4H, H)
        db += da.sum(axis=0)  # (4H,)
        dx[:, t - 1] = da @ W_ih  # (B, I), ∂a_t/∂x_t = W_ih
        dh_next = da @ W_hh  # (B, H), ∂a_t/∂h_{t-1} = W_hh: on to step t - 1
        dc_next = dc_prev  # (B, H), on to step t - 1

    grads = {"x": dx, "h": dh_next, "c": dc_next, "weight_ih": dW_ih, "weight_hh": dW_hh}
    for name in ("bias_ih", "bias_hh"):
        if params[name] is not None:
            grads[name] = db.copy()
    if P is not None:
        grads["weight_peephole"] = dP
    return grads
