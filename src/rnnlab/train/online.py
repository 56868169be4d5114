"""Online learning of a simple recurrent network, fused into one compiled loop over a stream.

Elman (1990) updated the weights after every input, with the gradient truncated after one step:
the context (a copy of the previous hidden state) is treated as just another input. A torch
step of that (forward, backward, optimiser) costs tens of microseconds, so the 1.8 million
updates of the temporal XOR would take minutes; here each update is a few hundred nanoseconds.

The network is a layer of Elman's cell spec (:class:`rnnlab.Elman`; one layer, one direction,
with biases: :data:`ONLINE_SPECS` says what the loop serves) and a linear readout with logistic
outputs, trained on squared error averaged over the output units (the loss ``"sigmoid_mse"`` of
:mod:`rnnlab.tasks`), by SGD with optional momentum exactly as ``torch.optim.SGD`` does it (the
first step sets the momentum buffer to the gradient). For every step t of the stream::

    h_t = f(W_ih x_t + b_ih + W_hh c_t + b_hh)       c_t: the context, h_{t-1} (detached)
    o_t = sigmoid(W_ho h_t + b_o)
    L_t = mean((o_t - y_t)^2)
    then one SGD update of every parameter with dL_t/dparameter, and c_{t+1} = h_t.

This is what the plain trainer computes with ``bptt = "online"``, ``batch_size = 1`` and
``optimizer = "sgd"``; the tests check the two agree update by update.
"""

from dataclasses import dataclass

import numpy as np
import torch
from numba import njit

from rnnlab.cells.elman import ELMAN_SPEC
from rnnlab.cells.spec import CellSpec
from rnnlab.kernels.common import ACTIVATION_CODES, activate, slope

#: What the fused loop computes: the cell specs it serves, each with the values it serves of
#: each of the spec's options. The loop below is Elman's step; ``activate`` and ``slope`` have
#: a code for each of its nonlinearities.
ONLINE_SPECS: dict[CellSpec, dict[str, tuple]] = {
    ELMAN_SPEC: {"nonlinearity": ("tanh", "relu", "sigmoid")},
}


@dataclass
class OnlineState:
    """What carries over from one call to the next: the context and the momentum buffers."""

    context: np.ndarray  # (H,)
    velocity: list[np.ndarray] | None = None  # one per parameter, None before the first update


@njit(cache=True)
def _sgd(p, g, v, lr, momentum, first):
    """torch.optim.SGD without dampening: v = momentum v + g (v = g at first), p -= lr v."""
    if momentum == 0.0:
        for k in range(p.size):
            p.flat[k] -= lr * g.flat[k]
        return
    for k in range(p.size):
        if first:
            v.flat[k] = g.flat[k]
        else:
            v.flat[k] = momentum * v.flat[k] + g.flat[k]
        p.flat[k] -= lr * v.flat[k]


@njit(cache=True)
def _online_loop(x, y, w_ih, w_hh, b_ih, b_hh, w_ho, b_o, vel, context, lr, momentum, act,
                 first, losses):  # fmt: skip
    T, I = x.shape
    H = w_hh.shape[0]
    O = w_ho.shape[0]
    h = np.empty(H, dtype=x.dtype)
    o = np.empty(O, dtype=x.dtype)
    dz = np.empty(O, dtype=x.dtype)
    da = np.empty(H, dtype=x.dtype)
    g_ih = np.empty_like(w_ih)
    g_hh = np.empty_like(w_hh)
    g_ho = np.empty_like(w_ho)
    for t in range(T):
        for i in range(H):  # forward
            a = b_ih[i] + b_hh[i]
            for j in range(I):
                a += w_ih[i, j] * x[t, j]
            for j in range(H):
                a += w_hh[i, j] * context[j]
            h[i] = activate(a, act)
        loss = 0.0
        for k in range(O):
            z = b_o[k]
            for i in range(H):
                z += w_ho[k, i] * h[i]
            o[k] = 1.0 / (1.0 + np.exp(-z))
            err = o[k] - y[t, k]
            loss += err * err
            dz[k] = 2.0 * err / O * o[k] * (1.0 - o[k])  # through the mean and the logistic
        losses[t] = loss / O
        for i in range(H):  # backward, one step deep
            dh = 0.0
            for k in range(O):
                dh += w_ho[k, i] * dz[k]
            da[i] = dh * slope(h[i], act)
        for k in range(O):
            for i in range(H):
                g_ho[k, i] = dz[k] * h[i]
        for i in range(H):
            for j in range(I):
                g_ih[i, j] = da[i] * x[t, j]
            for j in range(H):
                g_hh[i, j] = da[i] * context[j]
        _sgd(w_ih, g_ih, vel[0], lr, momentum, first)
        _sgd(w_hh, g_hh, vel[1], lr, momentum, first)
        _sgd(b_ih, da, vel[2], lr, momentum, first)
        _sgd(b_hh, da, vel[3], lr, momentum, first)
        _sgd(w_ho, g_ho, vel[4], lr, momentum, first)
        _sgd(b_o, dz, vel[5], lr, momentum, first)
        first = False
        for i in range(H):
            context[i] = h[i]


def online_problem(layer, readout) -> str | None:
    """Why the fused loop cannot train ``layer`` and ``readout`` (what it needs, and what it
    got), or None where it can."""
    spec = getattr(layer, "spec", None)
    if spec not in ONLINE_SPECS:
        served = " or ".join(s.name for s in ONLINE_SPECS)
        if isinstance(spec, CellSpec):
            got = f"a layer of the {spec.name} cell spec"
        else:
            got = f"{type(layer).__name__}, which has no cell spec"
        return f"a layer of the {served} cell spec; got {got}"
    options = layer.options
    for name, values in ONLINE_SPECS[spec].items():
        if options[name] not in values:
            return f"{name} in ({', '.join(values)}); got {options[name]!r}"
    if layer.num_layers != 1 or layer.bidirectional:
        return (
            f"one layer in one direction; got num_layers={layer.num_layers}, "
            f"bidirectional={layer.bidirectional}"
        )
    if not layer.bias:
        return "biases in the layer and the readout; got a layer with bias=False"
    if readout.bias is None:
        return "biases in the layer and the readout; got a readout without one"
    return None


def train_online(layer, readout, x, y, lr: float, momentum: float = 0.0,
                 state: OnlineState | None = None) -> tuple[np.ndarray, OnlineState]:  # fmt: skip
    """Run one online update per step of the stream ``x`` (T, I) -> targets ``y`` (T, O).

    Updates the parameters of ``layer`` (a layer of a spec in :data:`ONLINE_SPECS`, as
    :class:`rnnlab.Elman`; one layer, one direction, with bias) and ``readout`` (a
    ``torch.nn.Linear`` with bias) in place; where it cannot, the ValueError says why
    (:func:`online_problem`). Returns the loss before each update (T,) and the state to pass to
    the next call (the context starts at the layer's resting value f(0), 0.5 for sigmoid units,
    when ``state`` is None).
    """
    problem = online_problem(layer, readout)
    if problem is not None:
        raise ValueError(f"train_online needs {problem}")
    if x.dim() != 2 or y.dim() != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x must be (T, I) and y (T, O); got {tuple(x.shape)}, {tuple(y.shape)}")
    if not lr > 0 or not 0 <= momentum < 1:
        raise ValueError(f"lr must be > 0 and momentum in [0, 1); got {lr}, {momentum}")
    params = [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0,
              readout.weight, readout.bias]  # fmt: skip
    dtype = params[0].dtype
    arrays = [p.data.numpy() for p in params]  # views: the loop updates the modules in place
    if state is None:
        context = layer.initial_state(1)[0, 0].numpy().copy()
        state = OnlineState(context)
    first = state.velocity is None
    if first:
        state.velocity = [np.zeros_like(a) for a in arrays]
    losses = np.empty(x.shape[0], dtype=np.float64)
    with torch.no_grad():
        _online_loop(
            x.to(dtype).contiguous().numpy(), y.to(dtype).contiguous().numpy(), *arrays,
            tuple(state.velocity), state.context, float(lr), float(momentum),
            ACTIVATION_CODES[layer.options["nonlinearity"]], first, losses,
        )  # fmt: skip
    return losses, state
