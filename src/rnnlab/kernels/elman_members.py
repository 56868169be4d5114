"""The Elman time loop for N networks at once: one layer and direction of every member of an
ensemble (:class:`rnnlab.models.ensemble.Ensemble`), forward and backward, in one compiled call.

The members' weights are stacked, (N, ...), and so is everything else: inputs (N, B, T, I) or
(B, T, I) shared, states (N, B, H), outputs (N, B, T, H). As in :mod:`rnnlab.kernels.elman`,
the input projections of every step and member are a few batched GEMMs before the loop, the
weight gradients a few after it, and the loop keeps the recurrent products and the
elementwise math::

    forward    a_t = gi_t + h_{t-1} W_hh^T,   h_t = f(a_t)
    backward   da_t = (dy_t + dh_t) * f'(a_t),   dh_{t-1} = da_t W_hh

At the sizes ensembles are for (small H, small B) one member's step is far less work than a
call into BLAS costs, so the loop multiplies in its own code (dot products the compiler
vectorises); above :data:`INLINE_MAX_WORK` it calls torch's BLAS per member and step
(:func:`rnnlab.kernels.blas.matmul`).
:func:`reference` is the same function written as torch operations over all members: the
oracle, and what gradients with a graph (second order) differentiate.
"""

import numpy as np
import torch
from numba import njit

from rnnlab.kernels import second_order
from rnnlab.kernels.blas import gemm_address, matmul
from rnnlab.kernels.elman import backward_step, forward_step

# B * H * H up to which the loop's own products beat a BLAS call per member and step (at
# B = 1, H = 20 a call costs more than the 400 multiply-adds it does).
INLINE_MAX_WORK = 32 * 32 * 32


@njit(cache=True, fastmath=True)
def _recurrent_products(w, h, pre):
    """pre[b] += W h[b] for every row: w (H, H) one member's W_hh, h (B, H), pre (B, H); a dot
    product per unit, which the compiler vectorises (fastmath lets it reorder the sum)."""
    B, H = h.shape
    for b in range(B):
        for i in range(H):
            total = pre[b, i]
            for j in range(H):
                total += w[i, j] * h[b, j]
            pre[b, i] = total


@njit(cache=True, fastmath=True)
def _carry_products(w, da, dh):
    """dh[b] = da[b] W for every row: w (H, H) one member's W_hh, da (B, H), dh (B, H)."""
    B, H = da.shape
    for b in range(B):
        for j in range(H):
            dh[b, j] = 0.0
        for i in range(H):
            g = da[b, i]
            for j in range(H):
                dh[b, j] += g * w[i, j]


@njit(cache=True)
def forward_loop(gi, w_hh, h, lengths, reverse, act, gemm, inline):
    """Every member's loop in place: gi (N, T, B, H) becomes the outputs; h (N, B, H) the
    final states. ``w_hh`` (N, H, H) holds each member's W_hh where ``inline``, else W_hh^T
    (the right operand of a BLAS product)."""
    N, T = gi.shape[0], gi.shape[1]
    pre = np.empty_like(h[0])
    for n in range(N):
        w, h_n = w_hh[n], h[n]
        for s in range(T):
            t = T - 1 - s if reverse else s
            pre[:] = gi[n, t]
            if inline:
                _recurrent_products(w, h_n, pre)
            else:
                matmul(gemm, h_n, w, pre, True)
            forward_step(pre, h_n, t, lengths, act, gi[n, t])


@njit(cache=True)
def backward_loop(dout, dh, out, w_hh, lengths, reverse, act, da, gemm, inline):
    """Every member's backward in place: da (N, T, B, H) the gradients of the pre-activations,
    dh (N, B, H) from the final state's gradient to the initial state's."""
    N, T, B = dout.shape[0], dout.shape[1], dout.shape[2]
    carried = np.empty_like(dh[0])
    for n in range(N):
        w, dh_n = w_hh[n], dh[n]
        for s in range(T):
            t = s if reverse else T - 1 - s
            da_t = da[n, t]
            backward_step(dh_n, dout[n, t], out[n, t], t, lengths, act, da_t)
            if inline:
                _carry_products(w, da_t, carried)
            else:
                carried[:] = 0.0
                matmul(gemm, da_t, w, carried, True)
            for b in range(B):
                if t < lengths[b]:  # rows past their end pass the gradient through
                    dh_n[b] = carried[b]


def _previous_states(out, h0, lengths: np.ndarray, reverse: bool) -> torch.Tensor:
    """The state before every step (N, T, B, H), from the outputs (0 at padded steps) and the
    initial states h0 (N, B, H); see :func:`rnnlab.kernels.common.previous_states`."""
    T = out.shape[1]
    if not reverse:
        return torch.cat([h0[:, None], out[:, :-1]], dim=1)
    shifted = torch.cat([out[:, 1:], h0[:, None]], dim=1)
    if (lengths == T).all():
        return shifted
    t = torch.arange(T)[:, None]
    next_active = (t + 1 < torch.from_numpy(lengths)[None, :])[None, :, :, None]  # (1, T, B, 1)
    return torch.where(next_active, shifted, h0[:, None])


class ElmanMembersFunction(torch.autograd.Function):
    """One Elman layer and direction of N members: x (N, B, T, I) or (B, T, I) shared, h0
    (N, B, H), weights (N, ...) -> outputs (N, B, T, H) and final states (N, B, H).
    ``lengths``: an int64 array (B,), shared. ``reference``: :func:`reference` bound to the
    options, for gradients with a graph."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, lengths, reverse, act, reference=None):
        inputs = second_order.keep(
            ctx, "ElmanMembersFunction", reference, (x, h0, w_ih, w_hh, b_ih, b_hh)
        )
        N, H = w_hh.shape[0], w_hh.shape[1]
        shared = x.dim() == 3
        B, T, I = x.shape[-3:]
        xt = x.detach().transpose(-3, -2).reshape(*x.shape[:-3], T * B, I)  # ([N,] T*B, I)
        gi = torch.matmul(xt, w_ih.detach().transpose(1, 2))  # (N, T*B, H)
        if b_ih is not None:
            gi += (b_ih.detach() + b_hh.detach())[:, None, :]
        gi = gi.view(N, T, B, H)
        h = h0.detach().clone(memory_format=torch.contiguous_format)
        gemm, inline = gemm_address(x.dtype), B * H * H <= INLINE_MAX_WORK
        w_hh_loop = w_hh.detach() if inline else w_hh.detach().transpose(1, 2)
        forward_loop(
            gi.numpy(), w_hh_loop.contiguous().numpy(), h.numpy(), lengths, reverse, act, gemm,
            inline,
        )  # fmt: skip
        out = gi  # (N, T, B, H), 0 at padded steps
        ctx.save_for_backward(xt, out, h0.detach(), w_ih.detach(), w_hh.detach(), *inputs)
        ctx.options = (lengths, reverse, act, b_ih is not None, shared, gemm, inline)
        ctx.set_materialize_grads(False)
        return out.transpose(1, 2), h

    @staticmethod
    def backward(ctx, d_outputs, d_final):
        if second_order.needs_reference(ctx, ()):
            return second_order.reference_gradients(ctx, (d_outputs, d_final))
        xt, out, h0, w_ih, w_hh = ctx.saved_tensors[:5]
        lengths, reverse, act, has_bias, shared, gemm, inline = ctx.options
        N, T, B, H = out.shape
        if d_outputs is None:
            dout = torch.zeros_like(out)
        else:
            dout = d_outputs.transpose(1, 2).contiguous()  # (N, T, B, H)
        dh = torch.zeros_like(h0) if d_final is None else d_final.clone(
            memory_format=torch.contiguous_format
        )  # fmt: skip
        da = torch.empty_like(out)
        backward_loop(
            dout.numpy(), dh.numpy(), out.numpy(), w_hh.contiguous().numpy(), lengths, reverse,
            act, da.numpy(), gemm, inline,
        )  # fmt: skip
        da2 = da.view(N, T * B, H)
        dx = torch.matmul(da2, w_ih)  # (N, T*B, I)
        if shared:
            dx = dx.sum(0)
        I = w_ih.shape[2]
        dx = dx.view(*dx.shape[:-2], T, B, I).transpose(-3, -2)
        dw_ih = torch.matmul(da2.transpose(1, 2), xt)  # (N, H, I)
        previous = _previous_states(out, h0, lengths, reverse).reshape(N, T * B, H)
        dw_hh = torch.bmm(da2.transpose(1, 2), previous)
        db = da2.sum(1) if has_bias else None
        return dx, dh, dw_ih, dw_hh, db, db, None, None, None, None


def reference(x, h0, w_ih, w_hh, b_ih, b_hh, *, lengths: np.ndarray, reverse: bool, act: int):
    """:class:`ElmanMembersFunction` as torch operations, a loop over time for all members at
    once: (outputs (N, B, T, H), final states (N, B, H)). Differentiable to every order."""
    activation = {0: torch.tanh, 1: torch.relu, 2: torch.sigmoid}[act]
    T = x.shape[-2]
    gi = torch.matmul(x, w_ih.transpose(1, 2)[:, None])  # (N, B, T, H)
    if b_ih is not None:
        gi = gi + (b_ih + b_hh)[:, None, None, :]
    valid = torch.from_numpy(np.arange(T)[None, :] < lengths[:, None])  # (B, T)
    h = h0
    outputs = [None] * T
    for t in reversed(range(T)) if reverse else range(T):
        new = activation(gi[:, :, t] + torch.bmm(h, w_hh.transpose(1, 2)))
        keep = valid[:, t][None, :, None]  # (1, B, 1)
        h = torch.where(keep, new, h)
        outputs[t] = torch.where(keep, new, torch.zeros_like(new))
    return torch.stack(outputs, dim=2), h
