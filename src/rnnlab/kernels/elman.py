"""The Elman time loop, compiled: forward and backward through time for one layer and direction.

Only the recurrent part runs here. The caller (:mod:`rnnlab.kernels.function`) computes the
input projections of all steps in one GEMM before the loop, ``gi = x W_ih^T + b_ih + b_hh``
(T, B, H), and the weight gradients as GEMMs after it; the loop keeps ``h W_hh^T`` and the
elementwise math::

    forward    a_t = gi_t + h_{t-1} W_hh^T,   h_t = f(a_t)
    backward   da_t = (dy_t + dh_t) * f'(a_t),   dh_{t-1} = da_t W_hh

Arrays are time-major, (T, B, ...). ``lengths[b]`` marks the valid steps of row b: at
``t >= lengths[b]`` the state is held and the output is 0, exactly as the reference path
(:mod:`rnnlab.layers`). ``reverse`` runs time backwards (the second direction).

Two drivers, same results: a compiled loop (numba; its products on torch's BLAS, its exp and
tanh from :mod:`rnnlab.kernels.vmath`) and a Python loop of torch ops. Which runs is chosen per
pass (:func:`rnnlab.kernels.dispatch.choose_loops`): the forward by size, the backward compiled
wherever torch's BLAS can serve it.
"""

import numpy as np
import torch
from numba import njit

from rnnlab.kernels import second_order
from rnnlab.kernels.blas import product, weight_operand
from rnnlab.kernels.common import (
    IN_PLACE_ACTIVATIONS,
    activate_into,
    carry_back,
    derivative,
    product_with_previous,
    slope,
    step_masks,
)
from rnnlab.kernels.dispatch import as_loops
from rnnlab.kernels.scratch import scratch


@njit(cache=True)
def forward_step(pre, h, t, lengths, act, out_t):
    """h_t = f(pre) in place for the active rows; out_t is h_t there and 0 elsewhere."""
    if t < lengths.min():  # every row active: one pass over the step (B, H), row calls cost
        activate_into(pre.reshape(-1), h.reshape(-1), act)
        out_t[:] = h
        return
    for b in range(pre.shape[0]):
        if t < lengths[b]:
            activate_into(pre[b], h[b], act)
            out_t[b] = h[b]
        else:
            out_t[b] = 0.0


@njit(cache=True)
def backward_step(dh, dout_t, h_t, t, lengths, act, da_t):
    """da_t = (dout_t + dh) * f'(a_t) for the active rows, 0 elsewhere."""
    B, H = dh.shape
    for b in range(B):
        if t < lengths[b]:
            for i in range(H):
                da_t[b, i] = (dh[b, i] + dout_t[b, i]) * slope(h_t[b, i], act)
        else:
            for i in range(H):
                da_t[b, i] = 0.0


@njit(cache=True)
def forward_loop(gi, recurrent, h, lengths, reverse, act, out):
    """``out`` may be ``gi``: each step reads its input projection before writing its output."""
    T = gi.shape[0]
    pre = np.empty_like(h)
    for s in range(T):
        t = T - 1 - s if reverse else s
        pre[:] = gi[t]
        product(recurrent, h, pre, True)
        forward_step(pre, h, t, lengths, act, out[t])


@njit(cache=True)
def backward_loop(dout, dh, out, recurrent, lengths, reverse, act, da):
    T = dout.shape[0]
    for s in range(T):
        t = s if reverse else T - 1 - s
        backward_step(dh, dout[t], out[t], t, lengths, act, da[t])
        carry_back(dh, da[t], recurrent, t, lengths)


def forward(gi, w_hh, h0, lengths, reverse: bool, act: int, compiled: bool):
    """Run the loop in place: ``gi`` (T, B, H), the input projections, becomes the outputs
    (0 at padded steps). Returns it and the final state (B, H).

    ``gi``, ``w_hh`` (H, H) and ``h0`` (B, H) are torch tensors on the CPU, ``gi``
    contiguous; ``lengths`` an int64 array (B,). The state before each step is not kept: it is
    the previous output (see :func:`~rnnlab.kernels.common.product_with_previous`).
    """
    T = gi.shape[0]
    out = gi
    if compiled:
        h = h0.clone(memory_format=torch.contiguous_format)
        forward_loop(
            gi.numpy(), weight_operand(w_hh.t(), h.shape[0], "elman.forward"), h.numpy(),
            lengths, reverse, act, out.numpy(),
        )  # fmt: skip
        return out, h
    activation_ = IN_PLACE_ACTIVATIONS[act]
    masks = step_masks(lengths, T)
    w_hh_t = w_hh.t()
    h = h0
    if masks is None:  # every row active: two in-place torch calls per step, no copies
        for s in range(T):
            t = T - 1 - s if reverse else s
            h = activation_(out[t].addmm_(h, w_hh_t))
        return out, h.clone()
    for s in range(T):
        t = T - 1 - s if reverse else s
        h_new = activation_(torch.addmm(gi[t], h, w_hh_t))
        h = torch.where(masks[t], h_new, h)
        torch.mul(h_new, masks[t], out=out[t])
    return out, h


def backward(dout, dh_final, out, w_hh, lengths, reverse: bool, act: int, compiled: bool):
    """Backward through time. Returns da (T, B, H), the gradient of every pre-activation,
    and dh0 (B, H)."""
    da = scratch("elman.da", dout.shape, dout)
    dh = dh_final.clone(memory_format=torch.contiguous_format)
    if compiled:
        backward_loop(
            dout.numpy(), dh.numpy(), out.numpy(),
            weight_operand(w_hh, dh.shape[0], "elman.backward"), lengths, reverse, act, da.numpy(),
        )  # fmt: skip
        return da, dh
    T = dout.shape[0]
    masks = step_masks(lengths, T)
    slope = derivative(out, act)  # 0 at padded steps, where out is 0, except for sigmoid
    if masks is not None:
        slope *= masks
    da.copy_(dout)  # each step adds the gradient from the future in place
    for s in range(T):
        t = s if reverse else T - 1 - s
        da_t = da[t].add_(dh).mul_(slope[t])
        back = da_t @ w_hh
        dh = back if masks is None else torch.where(masks[t], back, dh)
    return da, dh


class ElmanFunction(torch.autograd.Function):
    """One Elman layer and direction on the fast path: x (B, T, I), h0 (B, H) -> outputs
    (B, T, H) and the final state (B, H). GEMMs outside the loop, the loop compiled or a loop
    of torch ops: ``compiled`` a bool for both passes, or a pair (forward, backward).
    ``reference``: the same direction as a function of the tensor arguments, for gradients with
    a graph (:mod:`rnnlab.kernels.second_order`)."""

    @staticmethod
    def forward(
        ctx, x, h0, w_ih, w_hh, b_ih, b_hh, lengths, reverse, act, compiled, reference=None
    ):
        inputs = second_order.keep(ctx, "ElmanFunction", reference, (x, h0, w_ih, w_hh, b_ih, b_hh))
        compiled, backward_compiled = as_loops(compiled)
        B, T, I = x.shape
        xt = x.detach().transpose(0, 1).contiguous()  # (T, B, I)
        gi = xt.new_empty((T * B, w_ih.shape[0]))  # all input projections in one GEMM; the
        # loop turns them into the outputs in place
        if b_ih is None:
            torch.mm(xt.view(T * B, I), w_ih.detach().t(), out=gi)
        else:
            torch.addmm(b_ih.detach() + b_hh.detach(), xt.view(T * B, I), w_ih.detach().t(), out=gi)
        gi = gi.view(T, B, -1)
        h0 = h0.detach()
        out, h = forward(gi, w_hh.detach(), h0, lengths, reverse, act, compiled)
        ctx.save_for_backward(xt, out, h0, w_ih.detach(), w_hh.detach(), *inputs)
        ctx.options = (lengths, reverse, act, backward_compiled, b_ih is not None)
        ctx.set_materialize_grads(False)
        return out.transpose(0, 1), h

    @staticmethod
    def backward(ctx, d_outputs, d_final):
        if second_order.needs_reference(ctx, ()):
            return second_order.reference_gradients(ctx, (d_outputs, d_final))
        xt, out, h0, w_ih, w_hh = ctx.saved_tensors[:5]
        lengths, reverse, act, compiled, has_bias = ctx.options
        T, B, I = xt.shape
        dout = scratch("elman.dout", out.shape, out)  # (T, B, H)
        if d_outputs is None:  # an output that was not used has no gradient
            dout.zero_()
        else:
            dout.copy_(d_outputs.transpose(0, 1))
        d_final = h0.new_zeros(h0.shape) if d_final is None else d_final.contiguous()
        da, dh0 = backward(dout, d_final, out, w_hh, lengths, reverse, act, compiled)
        da2 = da.view(T * B, -1)  # (T*B, H): the weight gradients are a few large GEMMs
        dx = (da2 @ w_ih).view(T, B, I).transpose(0, 1)
        dw_ih = da2.t() @ xt.view(T * B, I)
        dw_hh = product_with_previous(da, out, h0, lengths, reverse)
        db = da2.sum(0) if has_bias else None
        return dx, dh0, dw_ih, dw_hh, db, db, None, None, None, None, None
