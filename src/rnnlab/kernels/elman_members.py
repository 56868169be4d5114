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
call into BLAS costs: there :class:`ElmanMembersInnermost` keeps the members innermost in
every array, (T, B, H, N), and each step of all members is a few loops that the compiler
vectorises across members; above :data:`INLINE_MAX_WORK`, :class:`ElmanMembersFunction`
calls torch's BLAS per member and step (:func:`rnnlab.kernels.blas.matmul`).
:func:`rnnlab.layers.members_reference` (the members one by one on the reference unroll) is
the oracle, and what gradients with a graph (second order) differentiate.
"""

import numpy as np
import torch
from numba import njit

from rnnlab.kernels import second_order
from rnnlab.kernels.blas import gemm_address, matmul
from rnnlab.kernels.common import activate_into, previous_states, slope, step_masks
from rnnlab.kernels.elman import backward_step, forward_step

# B * H * H up to which the loop's own products beat a BLAS call per member and step (at
# B = 1, H = 20 a call costs more than the 400 multiply-adds it does).
INLINE_MAX_WORK = 32 * 32 * 32


@njit(cache=True)
def forward_loop(gi, w_hh, h, lengths, reverse, act, gemm):
    """Every member's loop in place: gi (N, T, B, H) becomes the outputs; h (N, B, H) the
    final states. ``w_hh`` (N, H, H) holds each member's W_hh^T (the right operand of a BLAS
    product)."""
    N, T = gi.shape[0], gi.shape[1]
    pre = np.empty_like(h[0])
    for n in range(N):
        w, h_n = w_hh[n], h[n]
        for s in range(T):
            t = T - 1 - s if reverse else s
            pre[:] = gi[n, t]
            matmul(gemm, h_n, w, pre, True)
            forward_step(pre, h_n, t, lengths, act, gi[n, t])


@njit(cache=True)
def backward_loop(dout, dh, out, w_hh, lengths, reverse, act, da, gemm):
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
            carried[:] = 0.0
            matmul(gemm, da_t, w, carried, True)
            for b in range(B):
                if t < lengths[b]:  # rows past their end pass the gradient through
                    dh_n[b] = carried[b]


@njit(cache=True, fastmath=True)
def _members_products(w, h, pre):
    """pre[i, n] += sum_j w[i, j, n] h[j, n]: every member's W_hh h at once, members innermost
    (w (H, H, N), h (H, N), pre (H, N)), so the compiler vectorises across members."""
    H, N = h.shape
    for j in range(H):  # j outermost: consecutive updates go to different rows of pre, so
        for i in range(H):  # none waits for the store of the one before it
            for n in range(N):
                pre[i, n] += w[i, j, n] * h[j, n]


@njit(cache=True, fastmath=True)
def _members_carry(w, da, dh):
    """dh[j, n] = sum_i da[i, n] w[i, j, n]: every member's da W_hh at once, members
    innermost."""
    H, N = da.shape
    for j in range(H):
        for n in range(N):
            dh[j, n] = 0.0
    for i in range(H):
        for j in range(H):
            for n in range(N):
                dh[j, n] += da[i, n] * w[i, j, n]


@njit(cache=True)
def forward_innermost(gi, w, h, lengths, reverse, act):
    """:func:`forward_loop` with the members innermost: gi (T, B, H, N) becomes the outputs,
    h (B, H, N) the final states; w (H, H, N) holds w[i, j, n] = W_hh of member n at (i, j)."""
    T, B, H, N = gi.shape
    pre = np.empty((H, N), gi.dtype)
    for s in range(T):
        t = T - 1 - s if reverse else s
        for b in range(B):
            if t < lengths[b]:
                pre[:] = gi[t, b]
                _members_products(w, h[b], pre)
                activate_into(pre.reshape(-1), h[b].reshape(-1), act)
                gi[t, b] = h[b]
            else:
                gi[t, b] = 0.0


@njit(cache=True)
def backward_innermost(dout, dh, out, w, lengths, reverse, act, da):
    """:func:`backward_loop` with the members innermost: dout, out and da (T, B, H, N), dh
    (B, H, N), w (H, H, N). The W_hh gradients are a batched product after the loop."""
    T, B, H, N = dout.shape
    carried = np.empty((H, N), dout.dtype)
    for s in range(T):
        t = s if reverse else T - 1 - s
        for b in range(B):
            if t < lengths[b]:
                for i in range(H):
                    for n in range(N):
                        da[t, b, i, n] = (dh[b, i, n] + dout[t, b, i, n]) * slope(
                            out[t, b, i, n], act
                        )
                _members_carry(w, da[t, b], carried)
                dh[b] = carried
            else:
                da[t, b] = 0.0


class ElmanMembersFunction(torch.autograd.Function):
    """One Elman layer and direction of N members: x (N, B, T, I) or (B, T, I) shared, h0
    (N, B, H), weights (N, ...) -> outputs (N, B, T, H) and final states (N, B, H).
    ``lengths``: an int64 array (B,), shared. ``reference``: the same function as torch
    operations, for gradients with a graph."""

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
        gemm = gemm_address(x.dtype)
        h = h0.detach().clone(memory_format=torch.contiguous_format)
        forward_loop(
            gi.numpy(), w_hh.detach().transpose(1, 2).contiguous().numpy(), h.numpy(),
            lengths, reverse, act, gemm,
        )  # fmt: skip
        out = gi  # (N, T, B, H), 0 at padded steps
        ctx.save_for_backward(xt, out, h0.detach(), w_ih.detach(), w_hh.detach(), *inputs)
        ctx.options = (lengths, reverse, act, b_ih is not None, shared, gemm)
        ctx.set_materialize_grads(False)
        return out.transpose(1, 2), h

    @staticmethod
    def backward(ctx, d_outputs, d_final):
        if second_order.needs_reference(ctx, ()):
            return second_order.reference_gradients(ctx, (d_outputs, d_final))
        xt, out, h0, w_ih, w_hh = ctx.saved_tensors[:5]
        lengths, reverse, act, has_bias, shared, gemm = ctx.options
        N, T, B, H = out.shape
        if d_outputs is None:
            d_outputs = out.new_zeros((N, B, T, H))
        if d_final is None:
            d_final = h0.new_zeros(h0.shape)
        dout = d_outputs.transpose(1, 2).contiguous()  # (N, T, B, H)
        dh = d_final.clone(memory_format=torch.contiguous_format)
        da = torch.empty_like(dout)
        backward_loop(
            dout.numpy(), dh.numpy(), out.numpy(), w_hh.contiguous().numpy(), lengths, reverse,
            act, da.numpy(), gemm,
        )  # fmt: skip
        da2 = da.view(N, T * B, H)
        dx = torch.matmul(da2, w_ih)  # (N, T*B, I)
        if shared:
            dx = dx.sum(0)
        I = w_ih.shape[2]
        dx = dx.view(*dx.shape[:-2], T, B, I).transpose(-3, -2)
        dw_ih = torch.matmul(da2.transpose(1, 2), xt)  # (N, H, I)
        masks = step_masks(lengths, T)  # (T, B, 1), shared by the members, or None
        previous = previous_states(  # the state before every step, as for one network
            out.transpose(0, 1), h0, None if masks is None else masks[:, None], reverse
        ).transpose(0, 1)  # (N, T, B, H)
        previous = previous.reshape(N, T * B, H)
        dw_hh = torch.bmm(da2.transpose(1, 2), previous)
        db = da2.sum(1) if has_bias else None
        return dx, dh, dw_ih, dw_hh, db, db, None, None, None, None


class ElmanMembersInnermost(torch.autograd.Function):
    """:class:`ElmanMembersFunction` for small sizes (B H H up to :data:`INLINE_MAX_WORK`),
    with the members innermost in every array of the loop ((T, B, H, N)), so that each step
    of all members is a few vectorised loops instead of a BLAS call per member. The input
    projections of a shared x are one GEMM for all members ((T B, I) x (I, H N)), and so are
    its gradients; the W_hh gradients are one batched product after the loop."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, lengths, reverse, act, reference=None):
        inputs = second_order.keep(
            ctx, "ElmanMembersInnermost", reference, (x, h0, w_ih, w_hh, b_ih, b_hh)
        )
        N, H, I = w_ih.shape
        shared = x.dim() == 3
        B, T = x.shape[-3], x.shape[-2]
        w_rows = w_ih.detach().permute(1, 0, 2).reshape(H * N, I)  # row h N + n: member n's
        if shared:
            xt = x.detach().transpose(0, 1).reshape(T * B, I)
            gi = xt @ w_rows.t()  # (T B, H N): the members innermost already
        else:
            xt = x.detach().transpose(1, 2).reshape(N, T * B, I)
            gi = torch.bmm(xt, w_ih.detach().transpose(1, 2)).permute(1, 2, 0).reshape(T * B, H * N)
        if b_ih is not None:
            gi += (b_ih.detach() + b_hh.detach()).t().reshape(H * N)
        out = gi.view(T, B, H, N)
        h = h0.detach().permute(1, 2, 0).contiguous()  # (B, H, N)
        w = w_hh.detach().permute(1, 2, 0).contiguous()  # (H, H, N)
        forward_innermost(out.numpy(), w.numpy(), h.numpy(), lengths, reverse, act)
        ctx.save_for_backward(xt, out, h0.detach(), w_ih.detach(), w, *inputs)
        ctx.options = (lengths, reverse, act, b_ih is not None, shared)
        ctx.set_materialize_grads(False)
        return out.permute(3, 1, 0, 2), h.permute(2, 0, 1)  # (N, B, T, H), (N, B, H)

    @staticmethod
    def backward(ctx, d_outputs, d_final):
        if second_order.needs_reference(ctx, ()):
            return second_order.reference_gradients(ctx, (d_outputs, d_final))
        xt, out, h0, w_ih, w = ctx.saved_tensors[:5]
        lengths, reverse, act, has_bias, shared = ctx.options
        T, B, H, N = out.shape
        I = w_ih.shape[2]
        if d_outputs is None:
            dout = out.new_zeros(out.shape)
        else:
            dout = d_outputs.permute(2, 1, 3, 0).contiguous()  # (T, B, H, N)
        dh = h0.new_zeros((B, H, N)) if d_final is None else d_final.permute(1, 2, 0).contiguous()
        da = torch.empty_like(out)
        backward_innermost(
            dout.numpy(), dh.numpy(), out.numpy(), w.numpy(), lengths, reverse, act, da.numpy()
        )
        masks = step_masks(lengths, T)  # (T, B, 1), shared by the members, or None
        before = previous_states(  # the state before every step, every member at once
            out.view(T, B, H * N), h0.permute(1, 2, 0).reshape(B, H * N), masks, reverse
        ).view(T * B, H, N)
        # Member-first copies for the batched product: on the members-innermost views it
        # took 2.5-6.1 ms at N = 16, H = 20, T = 1000, B = 1, on the copies 0.9-1.6 ms with
        # the copying (two runs each, measured alone on a noisy machine).
        da_members = da.view(T * B, H, N).permute(2, 0, 1).contiguous()  # (N, T B, H)
        dw = torch.bmm(da_members.transpose(1, 2), before.permute(2, 0, 1).contiguous())
        da_rows = da.view(T * B, H * N)
        if shared:
            w_rows = w_ih.permute(1, 0, 2).reshape(H * N, I)
            dx = (da_rows @ w_rows).view(T, B, I).transpose(0, 1)
            dw_ih = (da_rows.t() @ xt).view(H, N, I).transpose(0, 1)
        else:
            da2 = da.permute(3, 0, 1, 2).reshape(N, T * B, H)
            dx = torch.bmm(da2, w_ih).view(N, T, B, I).transpose(1, 2)
            dw_ih = torch.bmm(da2.transpose(1, 2), xt)
        db = da_rows.sum(0).view(H, N).t() if has_bias else None
        return dx, dh.permute(2, 0, 1), dw_ih, dw, db, db, None, None, None, None
