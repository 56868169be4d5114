"""The CTRNN time loop, compiled: forward and backward through time for one layer and direction.

The loop runs the leaky recurrence on the tensors a step applies; the caller's ``effective``
function (:mod:`rnnlab.cells.ctrnn`, through :mod:`rnnlab.layers`) makes them from the layer's
parameters, buffers and noise: the weights after Dale's law and the mask, alpha = dt / tau
(H,), the noisy inputs and the scaled recurrent noise n. Before the loop one GEMM gives the
input projections ``gi = x W_ih^T + b_ih + b_hh`` (T, B, H); the loop keeps the recurrent
product and the elementwise math::

    forward    p_t = gi_t + h_{t-1} W_hh^T,   v_t = (1 - alpha) v_{t-1} + alpha p_t + n_t,
               h_t = f(v_t)
    backward   dv_t = g_t + dc_t + (dy_t + dh_t) f'(v_t),   e_t = alpha dv_t,
               g_{t-1} = (1 - alpha) dv_t,   dh_{t-1} = e_t W_hh

with ``dy_t`` the gradient of the output (the rates), ``dc_t`` that of the currents ``record``
returns, ``g`` what reaches v_{t-1} through the leak and ``dh`` through the rates. After the
loop the weight gradients are GEMMs (``dW_hh = sum_t e_t^T h_{t-1}``), d alpha =
sum_t dv_t (p_t - v_{t-1}), dn_t = dv_t, and the chain back to the parameters (through Dale's
``abs``, the mask, exp(-log_tau), the noise's scale) is autograd's, of ``effective``: those are
a handful of elementwise operations per pass, and their derivatives are written down nowhere but
in the functions themselves.

Arrays are time-major, (T, B, ...). ``lengths[b]`` marks the valid steps of row b: at
``t >= lengths[b]`` the state is held and the outputs and currents are 0, exactly as the
reference path (:mod:`rnnlab.layers`). ``reverse`` runs time backwards.

Two drivers, same results: a compiled loop (numba; products on torch's BLAS, tanh and sigmoid
from :mod:`rnnlab.kernels.vmath`) and a Python loop of torch ops, chosen per pass by
:func:`rnnlab.kernels.dispatch.choose_loops`. Gradients with a graph differentiate the layer's
reference unroll (:mod:`rnnlab.kernels.second_order`).
"""

import numpy as np
import torch
import torch.nn.functional as F
from numba import njit

from rnnlab.kernels import second_order, vmath
from rnnlab.kernels.blas import product, weight_operand
from rnnlab.kernels.common import carry_back, previous_states, product_with_previous, step_masks
from rnnlab.kernels.dispatch import as_loops
from rnnlab.kernels.scratch import scratch

RELU, SOFTPLUS, TANH, RETANH, SIGMOID = 0, 1, 2, 3, 4
#: The CTRNN's nonlinearities (:data:`rnnlab.cells.ctrnn.NONLINEARITIES`) as the loops' codes.
RATE_CODES = {
    "relu": RELU,
    "softplus": SOFTPLUS,
    "tanh": TANH,
    "retanh": RETANH,
    "sigmoid": SIGMOID,
}
SOFTPLUS_THRESHOLD = 20.0  # torch's: softplus(v) = v above it


@njit(cache=True)
def rate(v, code):
    """f(v) for the nonlinearity ``code``, as torch computes it (softplus with its threshold)."""
    if code == RELU:
        return v if v > 0 else 0.0 * v
    if code == SOFTPLUS:
        return v if v > SOFTPLUS_THRESHOLD else np.log1p(np.exp(v))
    if code == TANH:
        return vmath.tanh_of(v)
    if code == RETANH:
        t = vmath.tanh_of(v)
        return t if t > 0 else 0.0 * t
    return vmath.sigmoid_of(v)


@njit(cache=True)
def rate_slope(v, r, code):
    """f'(v), from v and the rate r = f(v), with torch's conventions (0 at relu's kink)."""
    if code == RELU:
        return 1.0 if v > 0 else 0.0
    if code == SOFTPLUS:
        if v > SOFTPLUS_THRESHOLD:
            return 1.0
        z = np.exp(v)
        return z / (z + 1.0)
    if code == TANH:
        return 1.0 - r * r
    if code == RETANH:
        return 1.0 - r * r if r > 0 else 0.0
    return r * (1.0 - r)


def _retanh(v: torch.Tensor) -> torch.Tensor:
    return torch.relu(torch.tanh(v))


TORCH_RATES = {RELU: torch.relu, SOFTPLUS: F.softplus, TANH: torch.tanh, RETANH: _retanh,
               SIGMOID: torch.sigmoid}  # fmt: skip


def torch_slope(v: torch.Tensor, r: torch.Tensor, code: int) -> torch.Tensor:
    """f'(v) of every step at once, as :func:`rate_slope`; a new tensor."""
    if code == RELU:
        return (v > 0).to(v.dtype)
    if code == SOFTPLUS:
        return torch.where(v > SOFTPLUS_THRESHOLD, torch.ones_like(v), torch.sigmoid(v))
    if code == TANH:
        return 1 - r * r
    if code == RETANH:
        return (1 - r * r) * (r > 0).to(r.dtype)
    return r * (1 - r)


_ROW = dict(cache=True, error_model="numpy", fastmath={"contract"})
"""The row functions' options: loops over one row of H units, no branch inside, no division
check, so that LLVM vectorises them (:mod:`rnnlab.kernels.vmath`). A call of :func:`rate` per
unit inside the loop over (b, i) kept it scalar: 11 ns a unit, 3.3 ms of the 5 ms a forward pass
took at (T, B, H) = (60, 50, 100), where the 60 products take 1.2 ms."""


@njit(**_ROW)
def leak_row(v, p, n, keep, alpha, noisy):
    """v <- (1 - alpha) v + alpha p (+ n), in place; rows of H."""
    if noisy:
        for i in range(v.shape[0]):
            v[i] = keep[i] * v[i] + alpha[i] * p[i] + n[i]
    else:
        for i in range(v.shape[0]):
            v[i] = keep[i] * v[i] + alpha[i] * p[i]


@njit(**_ROW)
def rates_into(v, h, code):
    """h[i] = f(v[i]) for one row, as :func:`rate`, one loop per nonlinearity."""
    if code == RELU:
        for i in range(v.shape[0]):
            h[i] = v[i] if v[i] > 0 else 0.0 * v[i]
    elif code == TANH:
        for i in range(v.shape[0]):
            h[i] = vmath.tanh_of(v[i])
    elif code == RETANH:
        for i in range(v.shape[0]):
            t = vmath.tanh_of(v[i])
            h[i] = t if t > 0 else 0.0 * t
    elif code == SIGMOID:
        for i in range(v.shape[0]):
            h[i] = vmath.sigmoid_of(v[i])
    else:
        for i in range(v.shape[0]):
            h[i] = rate(v[i], code)


@njit(**_ROW)
def slopes_into(v, r, code, out):
    """out[i] = f'(v[i]) for one row, from the currents v and rates r, as :func:`rate_slope`."""
    if code == RELU:
        for i in range(v.shape[0]):
            out[i] = 1.0 if v[i] > 0 else 0.0
    elif code == TANH:
        for i in range(v.shape[0]):
            out[i] = 1.0 - r[i] * r[i]
    elif code == RETANH:
        for i in range(v.shape[0]):
            out[i] = 1.0 - r[i] * r[i] if r[i] > 0 else 0.0
    elif code == SIGMOID:
        for i in range(v.shape[0]):
            out[i] = r[i] * (1.0 - r[i])
    else:
        for i in range(v.shape[0]):
            out[i] = rate_slope(v[i], r[i], code)


@njit(**_ROW)
def gradient_row(g, dout, dh, dcur, slope, keep, alpha, traced, delta, e):
    """One row of the backward step: dv = g + (dout + dh) f'(v) (+ dcur) into ``delta``,
    alpha dv into ``e``, and g <- (1 - alpha) dv."""
    if traced:
        for i in range(g.shape[0]):
            d = g[i] + (dout[i] + dh[i]) * slope[i] + dcur[i]
            delta[i] = d
            e[i] = alpha[i] * d
            g[i] = keep[i] * d
    else:
        for i in range(g.shape[0]):
            d = g[i] + (dout[i] + dh[i]) * slope[i]
            delta[i] = d
            e[i] = alpha[i] * d
            g[i] = keep[i] * d


@njit(cache=True)
def forward_loop(pre, recurrent, v, h, alpha, keep, noise, lengths, reverse, act, out, cur):
    """``pre`` (T, B, H) holds the input projections and becomes the drives p_t in place;
    ``v`` and ``h`` (B, H), the currents and rates, advance in place; ``noise`` (T, B, H), or
    (0, B, H) for none; ``out`` and ``cur`` (T, B, H) receive the rates and currents."""
    T = pre.shape[0]
    B = v.shape[0]
    noisy = noise.shape[0] > 0
    for s in range(T):
        t = T - 1 - s if reverse else s
        product(recurrent, h, pre[t], True)  # p_t = gi_t + h_{t-1} W_hh^T
        for b in range(B):
            if t < lengths[b]:
                leak_row(v[b], pre[t, b], noise[t, b] if noisy else v[b], keep, alpha, noisy)
                rates_into(v[b], h[b], act)
                out[t, b] = h[b]
                cur[t, b] = v[b]
            else:
                out[t, b] = 0.0
                cur[t, b] = 0.0


@njit(cache=True)
def backward_loop(dout, dcur, g, dh, out, cur, recurrent, alpha, keep, lengths, reverse, act,
                  delta, e):  # fmt: skip
    """Backward through time in place: ``g`` and ``dh`` (B, H) carry the gradients reaching
    the currents and the rates from later steps; ``delta`` and ``e`` (T, B, H) receive dv_t
    and alpha dv_t (0 at padded steps). ``dcur`` is (0, B, H) when the currents have none."""
    T = dout.shape[0]
    B, H = g.shape
    traced = dcur.shape[0] > 0
    slope = np.empty(H, dtype=g.dtype)
    for s in range(T):
        t = s if reverse else T - 1 - s
        for b in range(B):
            if t < lengths[b]:
                slopes_into(cur[t, b], out[t, b], act, slope)
                gradient_row(g[b], dout[t, b], dh[b], dcur[t, b] if traced else g[b], slope,
                             keep, alpha, traced, delta[t, b], e[t, b])  # fmt: skip
            else:
                delta[t, b] = 0.0
                e[t, b] = 0.0
        carry_back(dh, e[t], recurrent, t, lengths)  # dh_{t-1} = e_t W_hh, active rows


def forward(pre, w_hh, v0, alpha, noise, lengths, reverse: bool, act: int, compiled: bool):
    """Run the loop: ``pre`` (T, B, H), the input projections, becomes the drives in place.
    Returns the rates and currents of every step (T, B, H), 0 at padded steps, and the final
    currents (B, H). ``noise`` (T, B, H) or None; ``alpha`` (H,)."""
    T, B, H = pre.shape
    out, cur = pre.new_empty((T, B, H)), pre.new_empty((T, B, H))
    keep = 1 - alpha
    rate0 = TORCH_RATES[act](v0)
    if compiled:
        v = v0.clone(memory_format=torch.contiguous_format)
        h = rate0.clone(memory_format=torch.contiguous_format)
        empty = pre.new_empty((0, B, H))
        forward_loop(
            pre.numpy(), weight_operand(w_hh.t(), B, "ctrnn.forward"), v.numpy(), h.numpy(),
            alpha.numpy(), keep.numpy(), (empty if noise is None else noise).numpy(), lengths,
            reverse, act, out.numpy(), cur.numpy(),
        )  # fmt: skip
        return out, cur, v
    f = TORCH_RATES[act]
    masks = step_masks(lengths, T)
    w_hh_t = w_hh.t()
    v, h = v0, rate0
    for s in range(T):
        t = T - 1 - s if reverse else s
        drive = pre[t].addmm_(h, w_hh_t)
        v_new = torch.addcmul(keep * v, alpha, drive)
        if noise is not None:
            v_new += noise[t]
        h_new = f(v_new)
        if masks is None:
            v, h = v_new, h_new
            out[t], cur[t] = h_new, v_new
            continue
        v = torch.where(masks[t], v_new, v)
        h = torch.where(masks[t], h_new, h)
        torch.mul(h_new, masks[t], out=out[t])
        torch.mul(v_new, masks[t], out=cur[t])
    return out, cur, v.clone()


def backward(dout, dcur, d_final, out, cur, w_hh, alpha, lengths, reverse, act, compiled):
    """Backward through time. Returns dv (T, B, H), e = alpha dv (T, B, H), and what reaches
    the initial currents through the leak (B, H) and through the initial rates (B, H)."""
    T, B, H = dout.shape
    keep = 1 - alpha
    delta = dout.new_empty((T, B, H))  # dv_t, kept: it is the noise's gradient
    e = scratch("ctrnn.e", (T, B, H), dout)
    g = d_final.clone(memory_format=torch.contiguous_format)
    dh = d_final.new_zeros((B, H))
    if compiled:
        empty = dout.new_empty((0, B, H))
        backward_loop(
            dout.numpy(), (empty if dcur is None else dcur).numpy(), g.numpy(), dh.numpy(),
            out.numpy(), cur.numpy(), weight_operand(w_hh, B, "ctrnn.backward"), alpha.numpy(),
            keep.numpy(), lengths, reverse, act, delta.numpy(), e.numpy(),
        )  # fmt: skip
        return delta, e, g, dh
    masks = step_masks(lengths, T)
    slope = torch_slope(cur, out, act)
    for s in range(T):
        t = s if reverse else T - 1 - s
        d = torch.addcmul(g, dout[t] + dh, slope[t])
        if dcur is not None:
            d += dcur[t]
        if masks is not None:
            d *= masks[t]
        torch.mul(d, alpha, out=e[t])
        back = e[t] @ w_hh
        if masks is None:
            g, dh = keep * d, back
        else:
            g = torch.where(masks[t], keep * d, g)
            dh = torch.where(masks[t], back, dh)
        delta[t] = d
    return delta, e, g, dh


class CTRNNFunction(torch.autograd.Function):
    """One CTRNN layer and direction on the fast path: x (B, T, I), v0 (B, H) -> the rates
    (B, T, H), the final currents (B, H) and the currents of every step (B, T, H).

    The tensors after ``v0`` are the layer's, in :data:`rnnlab.layers.KERNELS`' order:
    ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``, ``log_tau``, ``mask_hh``,
    ``sign_ih``, ``noise_hh``, ``noise_ih`` (None where absent). ``effective(x, *those)`` gives
    ``(x~, W_ih_eff, W_hh_eff, alpha, n)``: the inputs with their noise, the weights a step
    applies, alpha (a number or (H,)) and the scaled recurrent noise (or None), in torch ops
    (its gradient is autograd's). ``reference``: the same direction as a function of the tensor
    arguments, for gradients with a graph (:mod:`rnnlab.kernels.second_order`)."""

    @staticmethod
    def forward(ctx, x, v0, w_ih, w_hh, b_ih, b_hh, log_tau, mask_hh, sign_ih, noise_hh, noise_ih,
                lengths, reverse, act, compiled, effective, reference=None):  # fmt: skip
        raw = (x, v0, w_ih, w_hh, b_ih, b_hh, log_tau, mask_hh, sign_ih, noise_hh, noise_ih)
        inputs = second_order.keep(ctx, "CTRNNFunction", reference, raw)
        compiled, backward_compiled = as_loops(compiled)
        detached = [None if t is None else t.detach() for t in raw]
        x_e, w_ih_e, w_hh_e, alpha, noise = effective(detached[0], *detached[2:])
        B, T, I = x.shape
        H = w_hh.shape[0]
        alpha = torch.as_tensor(alpha, dtype=x.dtype).expand(H).contiguous()
        xt = x_e.transpose(0, 1).contiguous()  # (T, B, I)
        pre = xt.new_empty((T * B, H))  # all input projections in one GEMM
        if b_ih is None:
            torch.mm(xt.view(T * B, I), w_ih_e.t(), out=pre)
        else:
            torch.addmm(b_ih.detach() + b_hh.detach(), xt.view(T * B, I), w_ih_e.t(), out=pre)
        pre = pre.view(T, B, H)
        noise_t = None if noise is None else noise.transpose(0, 1).contiguous()
        v0 = v0.detach().contiguous()
        out, cur, v = forward(pre, w_hh_e, v0, alpha, noise_t, lengths, reverse, act, compiled)
        ctx.save_for_backward(xt, pre, out, cur, v0, w_ih_e, w_hh_e, alpha, *inputs)
        ctx.options = (lengths, reverse, act, backward_compiled, effective)
        ctx.set_materialize_grads(False)
        return out.transpose(0, 1), v, cur.transpose(0, 1)

    @staticmethod
    def backward(ctx, d_outputs, d_final, d_currents):
        if second_order.needs_reference(ctx, ()):
            return second_order.reference_gradients(ctx, (d_outputs, d_final, d_currents))
        xt, pre, out, cur, v0, w_ih, w_hh, alpha = ctx.saved_tensors[:8]
        raw = ctx.saved_tensors[8:]
        lengths, reverse, act, compiled, effective = ctx.options
        T, B, I = xt.shape
        dout = scratch("ctrnn.dout", out.shape, out)  # (T, B, H)
        if d_outputs is None:  # an output that was not used has no gradient
            dout.zero_()
        else:
            dout.copy_(d_outputs.transpose(0, 1))
        dcur = None if d_currents is None else d_currents.transpose(0, 1).contiguous()
        d_final = v0.new_zeros(v0.shape) if d_final is None else d_final.contiguous()
        delta, e, g, dh = backward(
            dout, dcur, d_final, out, cur, w_hh, alpha, lengths, reverse, act, compiled
        )
        rate0 = TORCH_RATES[act](v0)
        dv0 = g + dh * torch_slope(v0, rate0, act)
        e2 = e.view(T * B, -1)  # (T*B, H): the weight gradients are a few large GEMMs
        db = e2.sum(0) if raw[4] is not None else None

        def d_effective(k: int) -> torch.Tensor:
            """The gradient of ``effective``'s output k: x~, W_ih_eff, W_hh_eff, alpha, n."""
            if k == 0:
                return (e2 @ w_ih).view(T, B, I).transpose(0, 1)
            if k == 1:
                return e2.t() @ xt.view(T * B, I)
            if k == 2:
                return product_with_previous(e, out, rate0, lengths, reverse)
            if k == 3:  # dv_t/dalpha = p_t - v_{t-1}
                before = previous_states(cur, v0, step_masks(lengths, T), reverse)
                return (delta * (pre - before)).sum((0, 1))
            return delta.transpose(0, 1)  # dv_t/dn_t = 1

        grads = _chain(ctx, effective, raw, d_effective)
        return (grads[0], dv0, grads[2], grads[3], db, db, *grads[6:], *(None,) * 6)


#: The kernel's tensor arguments whose gradients come through ``effective``: all but v0 and
#: the biases (whose gradients the kernel gives directly).
_THROUGH_EFFECTIVE = (0, 2, 3, 6, 7, 8, 9, 10)


def _chain(ctx, effective, raw: tuple, d_effective) -> list:
    """The gradients of the kernel's tensor arguments (one per argument, None where none is
    asked for) from those of ``effective``'s outputs, ``d_effective(k)``, by autograd through
    ``effective``: Dale's abs, the mask, alpha from log_tau, the noise's scale. Only the
    outputs that depend on an argument asking for a gradient are computed."""
    needs = ctx.needs_input_grad
    wanted = [i for i in _THROUGH_EFFECTIVE if raw[i] is not None and needs[i]]
    grads: list = [None] * len(raw)
    if not wanted:
        return grads
    with torch.enable_grad():
        leaves = [
            None if t is None else (t.detach().requires_grad_() if i in wanted else t.detach())
            for i, t in enumerate(raw)
        ]
        made = effective(leaves[0], *leaves[2:])
        pairs = [
            (output, d_effective(k)) for k, output in enumerate(made)
            if isinstance(output, torch.Tensor) and output.requires_grad
        ]  # fmt: skip
        found = torch.autograd.grad(
            [o for o, _ in pairs], [leaves[i] for i in wanted], [g for _, g in pairs],
            allow_unused=True,
        )  # fmt: skip
    for i, gradient in zip(wanted, found):
        # An argument that no output depends on (a mask of a layer without Dale's signs to
        # set) has a zero gradient, which autograd reports as None.
        grads[i] = torch.zeros_like(raw[i]) if gradient is None else gradient
    return grads
