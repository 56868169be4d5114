"""The Jordan time loop, compiled: forward and backward through time for one layer and direction.

Only the recurrent part runs here. :class:`JordanFunction` computes the input projections of
all steps in one GEMM before the loop, ``gi = x W_ih^T + b_ih + b_hh`` (T, B, H), and the
weight gradients as GEMMs after it; the loop keeps the two products that depend on the state,
``y_{t-1} W_hh^T`` and ``h_t W_ho^T``, and the elementwise math::

    forward    a_t = gi_t + y_{t-1} W_hh^T,   h_t = f(a_t)
               z_t = h_t W_ho^T + b_ho,       y_t = g(z_t)
    backward   dz_t = (dout_t + dy_t) * g'(z_t),   da_t = (dz_t W_ho) * f'(a_t)
               dy_{t-1} = da_t W_hh
    after      dx = da W_ih,   dW_ih = da^T x,   dW_hh = da^T y_prev,   db_ih = db_hh = sum da
               dW_ho = dz^T h,   db_ho = sum dz

f is tanh, relu or sigmoid and g also the identity; both derivatives are taken from the
activations (h_t, y_t), which the forward pass keeps. The state is the context y (B, O).

Arrays are time-major, (T, B, ...). ``lengths[b]`` marks the valid steps of row b: at
``t >= lengths[b]`` the state is held and the outputs and hidden activations are 0, exactly as
the reference path (:mod:`rnnlab.layers`). ``reverse`` runs time backwards (the second
direction), so a padded row starts at ``t = lengths[b] - 1`` from its initial state.

Two drivers, same results: a compiled loop (numba; its products on torch's BLAS, its exp and
tanh from :mod:`rnnlab.kernels.vmath`) and a Python loop of torch ops. Which runs is chosen per
pass (:func:`rnnlab.kernels.dispatch.choose_loops`): the forward by size, the backward compiled
wherever torch's BLAS can serve it.
"""

import numpy as np
import torch
from numba import njit

from rnnlab.kernels import second_order
from rnnlab.kernels.blas import gemm_address, matmul, weight_operand
from rnnlab.kernels.common import (
    IN_PLACE_ACTIVATIONS,
    activate,
    carry_back,
    derivative,
    slope,
    step_masks,
)
from rnnlab.kernels.dispatch import as_loops


@njit(cache=True)
def hidden_step(pre, t, lengths, act, h_t):
    """h_t = f(pre) for the active rows, 0 elsewhere."""
    B, H = pre.shape
    for b in range(B):
        if t < lengths[b]:
            for i in range(H):
                h_t[b, i] = activate(pre[b, i], act)
        else:
            for i in range(H):
                h_t[b, i] = 0.0


@njit(cache=True)
def output_step(z, b_ho, y, t, lengths, out_act, out_t):
    """y = g(z + b_ho) in place for the active rows; out_t is y there and 0 elsewhere."""
    B, O = z.shape
    for b in range(B):
        if t < lengths[b]:
            for o in range(O):
                v = activate(z[b, o] + b_ho[o], out_act)
                y[b, o] = v
                out_t[b, o] = v
        else:
            for o in range(O):
                out_t[b, o] = 0.0


@njit(cache=True)
def forward_loop(
    gi, w_hh_t, w_ho_t, b_ho, y, lengths, reverse, act, out_act, out, hidden, y_prev, gemm
):
    T = gi.shape[0]
    pre = np.empty((y.shape[0], gi.shape[2]), gi.dtype)
    z = np.empty_like(y)
    for s in range(T):
        t = T - 1 - s if reverse else s
        y_prev[t] = y
        pre[:] = gi[t]
        matmul(gemm, y, w_hh_t, pre, True)
        hidden_step(pre, t, lengths, act, hidden[t])
        matmul(gemm, hidden[t], w_ho_t, z, False)
        output_step(z, b_ho, y, t, lengths, out_act, out[t])


@njit(cache=True)
def output_grad_step(dy, dout_t, out_t, t, lengths, out_act, dz_t):
    """dz_t = (dout_t + dy) * g'(z_t) for the active rows, 0 elsewhere."""
    B, O = dy.shape
    for b in range(B):
        if t < lengths[b]:
            for o in range(O):
                dz_t[b, o] = (dy[b, o] + dout_t[b, o]) * slope(out_t[b, o], out_act)
        else:
            for o in range(O):
                dz_t[b, o] = 0.0


@njit(cache=True)
def hidden_grad_step(dh, h_t, t, lengths, act, da_t):
    """da_t = dh * f'(a_t) for the active rows, 0 elsewhere."""
    B, H = dh.shape
    for b in range(B):
        if t < lengths[b]:
            for i in range(H):
                da_t[b, i] = dh[b, i] * slope(h_t[b, i], act)
        else:
            for i in range(H):
                da_t[b, i] = 0.0


@njit(cache=True)
def backward_loop(
    dout, dy, out, hidden, w_ho, recurrent, lengths, reverse, act, out_act, dz, da, gemm
):
    T = dout.shape[0]
    dh = np.empty((dy.shape[0], w_ho.shape[1]), dy.dtype)
    for s in range(T):
        t = s if reverse else T - 1 - s
        output_grad_step(dy, dout[t], out[t], t, lengths, out_act, dz[t])
        matmul(gemm, dz[t], w_ho, dh, False)
        hidden_grad_step(dh, hidden[t], t, lengths, act, da[t])
        carry_back(dy, da[t], recurrent, t, lengths)


def forward(gi, w_hh, w_ho, b_ho, y0, lengths, reverse: bool, act: int, out_act: int, compiled):
    """Run the loop. Returns out (T, B, O), hidden (T, B, H), y_prev (T, B, O), the context
    each step read, and the final state (B, O).

    ``gi`` (T, B, H), ``w_hh`` (H, O), ``w_ho`` (O, H), ``b_ho`` (O,) or None and ``y0``
    (B, O) are torch tensors on the CPU; ``lengths`` an int64 array (B,).
    """
    T, B, _ = gi.shape
    O = w_ho.shape[0]
    out = gi.new_empty((T, B, O))
    hidden = torch.empty_like(gi)
    if compiled:
        y_prev = torch.empty_like(out)
        y = y0.clone(memory_format=torch.contiguous_format)
        bias = gi.new_zeros(O) if b_ho is None else b_ho.contiguous()
        forward_loop(
            gi.numpy(), w_hh.t().contiguous().numpy(), w_ho.t().contiguous().numpy(),
            bias.numpy(), y.numpy(), lengths, reverse, act, out_act, out.numpy(),
            hidden.numpy(), y_prev.numpy(), gemm_address(gi.dtype),
        )  # fmt: skip
        return out, hidden, y_prev, y
    f_ = IN_PLACE_ACTIVATIONS[act]
    g_ = IN_PLACE_ACTIVATIONS[out_act]
    masks = step_masks(lengths, T)
    w_hh_t, w_ho_t = w_hh.t(), w_ho.t()

    def output(h, out_t=None):
        if b_ho is None:
            return g_(torch.mm(h, w_ho_t, out=out_t))
        return g_(torch.addmm(b_ho, h, w_ho_t, out=out_t))

    y = y0
    if masks is None:  # every row active: written straight into out and hidden, no copies
        for s in range(T):
            t = T - 1 - s if reverse else s
            h = f_(torch.addmm(gi[t], y, w_hh_t, out=hidden[t]))
            y = output(h, out[t])
        earlier = out[1:] if reverse else out[:-1]
        y_prev = torch.cat([earlier, y0[None]] if reverse else [y0[None], earlier])
        return out, hidden, y_prev, y.clone()
    y_prev = torch.empty_like(out)
    for s in range(T):
        t = T - 1 - s if reverse else s
        y_prev[t] = y
        h_new = f_(torch.addmm(gi[t], y, w_hh_t))
        y_new = output(h_new)
        y = torch.where(masks[t], y_new, y)
        torch.mul(h_new, masks[t], out=hidden[t])
        torch.mul(y_new, masks[t], out=out[t])
    return out, hidden, y_prev, y


def backward(dout, dy_final, out, hidden, w_hh, w_ho, lengths, reverse, act, out_act, compiled):
    """Backward through time. Returns dz (T, B, O) and da (T, B, H), the gradients of every
    output and hidden pre-activation, and dy0 (B, O)."""
    T = dout.shape[0]
    dz = torch.empty_like(dout)
    da = torch.empty_like(hidden)
    dy = dy_final.clone(memory_format=torch.contiguous_format)
    if compiled:
        backward_loop(
            dout.numpy(), dy.numpy(), out.numpy(), hidden.numpy(), w_ho.contiguous().numpy(),
            weight_operand(w_hh, dy.shape[0], "jordan.backward"), lengths, reverse, act, out_act,
            dz.numpy(), da.numpy(), gemm_address(dout.dtype),
        )  # fmt: skip
        return dz, da, dy
    masks = step_masks(lengths, T)
    slope_g = derivative(out, out_act)
    slope_f = derivative(hidden, act)
    if masks is not None:  # padded steps hold 0, where tanh' and identity' are not 0
        slope_g *= masks
        slope_f *= masks
    for s in range(T):
        t = s if reverse else T - 1 - s
        dz_t = torch.add(dy, dout[t], out=dz[t]).mul_(slope_g[t])
        da_t = torch.mm(dz_t, w_ho, out=da[t]).mul_(slope_f[t])
        back = da_t @ w_hh
        dy = back if masks is None else torch.where(masks[t], back, dy)
    return dz, da, dy


class JordanFunction(torch.autograd.Function):
    """One Jordan layer and direction on the fast path: x (B, T, I), y0 (B, O) -> outputs
    (B, T, O), the final state (B, O) and the hidden activations (B, T, H), which carry no
    gradient. GEMMs outside the loop, the loop compiled or a loop of torch ops
    (``compiled``: a bool for both passes, or a pair (forward, backward)). ``reference``: the
    same direction as a function of the tensor arguments, returning ``(outputs, y_final,
    hidden)``, for gradients with a graph and through the hidden activations
    (:mod:`rnnlab.kernels.second_order`)."""

    @staticmethod
    def forward(
        ctx, x, y0, w_ih, w_hh, b_ih, b_hh, w_ho, b_ho, lengths, reverse, act, out_act, compiled,
        reference=None,
    ):  # fmt: skip
        inputs = second_order.keep(
            ctx, "JordanFunction", reference, (x, y0, w_ih, w_hh, b_ih, b_hh, w_ho, b_ho)
        )
        compiled, backward_compiled = as_loops(compiled)
        B, T, I = x.shape
        xt = x.detach().transpose(0, 1).contiguous()  # (T, B, I)
        gi = xt.view(T * B, I) @ w_ih.detach().t()  # all input projections in one GEMM
        if b_ih is not None:
            gi += b_ih.detach() + b_hh.detach()
        gi = gi.view(T, B, -1)
        bias_o = None if b_ho is None else b_ho.detach()
        out, hidden, y_prev, y = forward(
            gi, w_hh.detach(), w_ho.detach(), bias_o, y0.detach(), lengths, reverse, act,
            out_act, compiled,
        )  # fmt: skip
        ctx.save_for_backward(xt, out, hidden, y_prev, w_ih, w_hh, w_ho, *inputs)
        ctx.options = (lengths, reverse, act, out_act, backward_compiled, b_ih is not None)
        ctx.set_materialize_grads(False)  # no zero-filled (B, T, H) gradient for the hidden
        return out.transpose(0, 1), y, hidden.transpose(0, 1)

    @staticmethod
    def backward(ctx, d_outputs, d_final, d_hidden):
        if second_order.needs_reference(ctx, (d_hidden,)):
            return second_order.reference_gradients(ctx, (d_outputs, d_final, d_hidden))
        xt, out, hidden, y_prev, w_ih, w_hh, w_ho = ctx.saved_tensors[:7]
        lengths, reverse, act, out_act, compiled, has_bias = ctx.options
        T, B, I = xt.shape
        # Gradients are None where an output was not used.
        dout = out.new_zeros(out.shape) if d_outputs is None else d_outputs.transpose(0, 1)
        dout = dout.contiguous()
        d_final = y_prev.new_zeros(y_prev.shape[1:]) if d_final is None else d_final
        dz, da, dy0 = backward(
            dout, d_final, out, hidden, w_hh.detach(), w_ho.detach(), lengths, reverse, act,
            out_act, compiled,
        )  # fmt: skip
        da2 = da.view(T * B, -1)  # (T*B, H): the weight gradients are a few large GEMMs
        dz2 = dz.view(T * B, -1)  # (T*B, O)
        dx = None
        if ctx.needs_input_grad[0]:
            dx = (da2 @ w_ih.detach()).view(T, B, I).transpose(0, 1)
        dw_ih = da2.t() @ xt.view(T * B, I)
        dw_hh = da2.t() @ y_prev.view(T * B, -1)
        dw_ho = dz2.t() @ hidden.view(T * B, -1)
        db = da2.sum(0) if has_bias else None
        db_ho = dz2.sum(0) if has_bias else None
        return dx, dy0, dw_ih, dw_hh, db, db, dw_ho, db_ho, None, None, None, None, None, None
