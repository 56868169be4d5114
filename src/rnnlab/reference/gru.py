r"""The gated recurrent unit in NumPy: the forward pass and backpropagation through time.

The GRU of Cho et al. (2014) in torch.nn's variant, one layer, one direction, batch first.
Time steps are numbered ``t = 1, ..., T``; ``h_0`` is the initial state. For every step::

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)        reset gate         (B, H)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)        update gate        (B, H)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))   candidate          (B, H)
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}                       new state          (B, H)
    y_t = h_t

torch.nn (like cuDNN) applies the reset gate *after* the recurrent product,
``r_t ⊙ (W_hn h_{t-1} + b_hn)``; the paper has ``W_hn (r_t ⊙ h_{t-1})``. We follow torch. The
weights are stacked in gate order r, z, n: ``weight_ih`` = [W_ir; W_iz; W_in] (3H, I),
``weight_hh`` = [W_hr; W_hz; W_hn] (3H, H), and the biases likewise (3H,). It helps to name
the two affine maps::

    gi_t = W_ih x_t + b_ih = [gi_r, gi_z, gi_n]       (B, 3H)
    gh_t = W_hh h_{t-1} + b_hh = [gh_r, gh_z, gh_n]   (B, 3H)

Backpropagation through time (Rumelhart, Hinton & Williams 1986; Werbos 1990) goes from
``t = T`` down to ``t = 1``. With ``dv`` for ``∂L/∂v`` and ``δh_t`` the total gradient of
``h_t`` (from its output ``y_t`` and from step ``t + 1``)::

    δh_T   = dy_T + dh_T;     δh_t = dy_t + (gradient from step t + 1)
    dn_t   = δh_t ⊙ (1 - z_t)                   through h_t = (1 - z) n + z h_{t-1}
    dz_t   = δh_t ⊙ (h_{t-1} - n_t)
    δa_n   = dn_t ⊙ (1 - n_t²)                  through tanh; a_n = gi_n + r ⊙ gh_n
    dr_t   = δa_n ⊙ gh_n
    δa_z   = dz_t ⊙ z_t (1 - z_t)               through sigmoid
    δa_r   = dr_t ⊙ r_t (1 - r_t)
    dgi_t  = [δa_r, δa_z, δa_n]                 (B, 3H)
    dgh_t  = [δa_r, δa_z, δa_n ⊙ r_t]           (B, 3H), r_t scales gh_n
    dW_ih  = Σ_t dgi_tᵀ x_t;   db_ih = Σ_t Σ_batch dgi_t
    dW_hh  = Σ_t dgh_tᵀ h_{t-1};   db_hh = Σ_t Σ_batch dgh_t
    dx_t   = dgi_t W_ih
    (gradient to h_{t-1}) = δh_t ⊙ z_t + dgh_t W_hh

References:
    Cho, K., van Merrienboer, B., Gulcehre, C., Bahdanau, D., Bougares, F., Schwenk, H. and
    Bengio, Y. (2014). Learning phrase representations using RNN encoder-decoder for
    statistical machine translation. *EMNLP*.
    Rumelhart, D. E., Hinton, G. E. and Williams, R. J. (1986). Learning representations by
    back-propagating errors. *Nature*, 323, 533-536.
    Werbos, P. J. (1990). Backpropagation through time: what it does and how to do it.
    *Proceedings of the IEEE*, 78(10), 1550-1560.

Example:
    >>> rng = np.random.default_rng(0)
    >>> B, T, I, H = 2, 3, 4, 5
    >>> params = {
    ...     "weight_ih": rng.normal(size=(3 * H, I)),
    ...     "weight_hh": rng.normal(size=(3 * H, H)),
    ... }
    >>> outputs, h_T, cache = forward(rng.normal(size=(B, T, I)), np.zeros((B, H)), params)
    >>> grads = backward(np.ones_like(outputs), None, cache)
    >>> grads["weight_hh"].shape
    (15, 5)
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rnnlab.reference.shared import check_array, check_params, check_sequence, linear, sigmoid


@dataclass(frozen=True)
class GRUCache:
    """What the forward pass keeps for the backward pass.

    Attributes:
        x: the inputs, (B, T, I); ``x[:, t - 1]`` is ``x_t``.
        h: every state, (B, T + 1, H); ``h[:, 0]`` is ``h_0`` and ``h[:, t]`` is ``h_t``.
        r, z, n: the reset gate, update gate and candidate, each (B, T, H); column ``t - 1``
            holds step ``t``.
        gh_n: ``W_hn h_{t-1} + b_hn``, (B, T, H), the term the reset gate scales.
        params: the parameters, float64 arrays (or None for absent biases).
    """

    x: np.ndarray
    h: np.ndarray
    r: np.ndarray
    z: np.ndarray
    n: np.ndarray
    gh_n: np.ndarray
    params: dict[str, np.ndarray | None]


def forward(
    x: np.ndarray, state: np.ndarray, params: Mapping[str, np.ndarray | None]
) -> tuple[np.ndarray, np.ndarray, GRUCache]:
    """Run the GRU over a batch of sequences.

    Args:
        x: inputs, (B, T, I).
        state: the initial state ``h_0``, (B, H).
        params: ``weight_ih`` (3H, I), ``weight_hh`` (3H, H), ``bias_ih`` (3H,) and
            ``bias_hh`` (3H,), torch.nn's names and gate order r, z, n; a bias may be None or
            absent (no bias).

    Returns:
        ``(outputs, final_state, cache)``: ``outputs`` (B, T, H) holds ``h_1, ..., h_T``;
        ``final_state`` is ``h_T`` (B, H); ``cache`` is what :func:`backward` needs.

    Raises:
        ValueError: an array of the wrong shape.
    """
    x = check_sequence(x)
    B, T, I = x.shape
    params, H = check_params(params, gates=3, input_size=I)
    state = check_array("state", state, (B, H), "(B, H)")
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]  # (3H, I), (3H, H)
    b_ih, b_hh = params["bias_ih"], params["bias_hh"]  # (3H,) or None

    h = np.empty((B, T + 1, H))
    r, z, n, gh_n = (np.empty((B, T, H)) for _ in range(4))
    h[:, 0] = state  # h_0
    for t in range(1, T + 1):
        x_t = x[:, t - 1]  # (B, I); Python counts steps from 0
        h_prev = h[:, t - 1]  # (B, H), h_{t-1}
        gi_r, gi_z, gi_n = np.split(linear(x_t, W_ih, b_ih), 3, axis=1)  # each (B, H)
        gh_r, gh_z, gh_n_t = np.split(linear(h_prev, W_hh, b_hh), 3, axis=1)  # each (B, H)
        r_t = sigmoid(gi_r + gh_r)  # (B, H) reset gate
        z_t = sigmoid(gi_z + gh_z)  # (B, H) update gate
        n_t = np.tanh(gi_n + r_t * gh_n_t)  # (B, H) candidate; r_t scales W_hn h + b_hn
        h[:, t] = (1.0 - z_t) * n_t + z_t * h_prev  # (B, H)
        r[:, t - 1], z[:, t - 1], n[:, t - 1], gh_n[:, t - 1] = r_t, z_t, n_t, gh_n_t

    outputs = h[:, 1:].copy()  # (B, T, H), y_t = h_t
    final_state = h[:, T].copy()  # (B, H)
    return outputs, final_state, GRUCache(x, h, r, z, n, gh_n, params)


def backward(
    d_outputs: np.ndarray | None, d_final_state: np.ndarray | None, cache: GRUCache
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
    x, h, params = cache.x, cache.h, cache.params
    B, T, _ = x.shape
    H = h.shape[2]
    d_outputs = np.zeros((B, T, H)) if d_outputs is None else d_outputs
    d_final_state = np.zeros((B, H)) if d_final_state is None else d_final_state
    d_outputs = check_array("d_outputs", d_outputs, (B, T, H), "(B, T, H)")
    d_final_state = check_array("d_final_state", d_final_state, (B, H), "(B, H)")
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]

    dx = np.zeros_like(x)  # (B, T, I)
    dW_ih = np.zeros_like(W_ih)  # (3H, I)
    dW_hh = np.zeros_like(W_hh)  # (3H, H)
    db_ih = np.zeros(3 * H)  # (3H,)
    db_hh = np.zeros(3 * H)  # (3H,); differs from db_ih in the n block, where r_t intervenes
    dh_next = d_final_state  # (B, H), what reaches h_T from beyond the sequence
    for t in range(T, 0, -1):
        x_t = x[:, t - 1]  # (B, I)
        h_prev = h[:, t - 1]  # (B, H), h_{t-1}
        r_t, z_t, n_t = cache.r[:, t - 1], cache.z[:, t - 1], cache.n[:, t - 1]  # (B, H)
        gh_n_t = cache.gh_n[:, t - 1]  # (B, H)
        # h_t is read by the output y_t and by the next step (dh_next); the gradients add.
        dh_t = d_outputs[:, t - 1] + dh_next  # (B, H)
        # h_t = (1 - z_t) n_t + z_t h_{t-1}: one product rule per factor.
        dn_t = dh_t * (1.0 - z_t)  # (B, H), ∂h_t/∂n_t = 1 - z_t
        dz_t = dh_t * (h_prev - n_t)  # (B, H), ∂h_t/∂z_t = h_{t-1} - n_t
        dh_prev = dh_t * z_t  # (B, H), the direct path ∂h_t/∂h_{t-1} = z_t
        # n_t = tanh(a_n) with a_n = gi_n + r_t gh_n.
        da_n = dn_t * (1.0 - n_t**2)  # (B, H), tanh' = 1 - tanh^2
        dr_t = da_n * gh_n_t  # (B, H), ∂a_n/∂r_t = gh_n
        dgh_n = da_n * r_t  # (B, H), ∂a_n/∂gh_n = r_t
        # z_t = sigmoid(a_z), r_t = sigmoid(a_r), with a = gi + gh for these two gates.
        da_z = dz_t * z_t * (1.0 - z_t)  # (B, H), sigmoid' = sigmoid (1 - sigmoid)
        da_r = dr_t * r_t * (1.0 - r_t)  # (B, H)
        dgi = np.concatenate([da_r, da_z, da_n], axis=1)  # (B, 3H), ∂L/∂gi_t
        dgh = np.concatenate([da_r, da_z, dgh_n], axis=1)  # (B, 3H), ∂L/∂gh_t
        # gi_t = x_t W_ih^T + b_ih and gh_t = h_{t-1} W_hh^T + b_hh; weights summed over steps.
        dW_ih += dgi.T @ x_t  # (3H, I)
        dW_hh += dgh.T @ h_prev  # (3H, H)
        db_ih += dgi.sum(axis=0)  # (3H,)
        db_hh += dgh.sum(axis=0)  # (3H,)
        dx[:, t - 1] = dgi @ W_ih  # (B, I), ∂gi_t/∂x_t = W_ih
        dh_next = dh_prev + dgh @ W_hh  # (B, H), plus the path through the gates: to step t - 1

    grads = {"x": dx, "state": dh_next, "weight_ih": dW_ih, "weight_hh": dW_hh}
    if params["bias_ih"] is not None:
        grads["bias_ih"] = db_ih
    if params["bias_hh"] is not None:
        grads["bias_hh"] = db_hh
    return grads
