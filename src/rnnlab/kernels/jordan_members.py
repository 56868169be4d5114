"""The Jordan time loop for N networks at once: one layer and direction of every member of an
ensemble (:class:`rnnlab.models.ensemble.Ensemble`), forward and backward.

As in :mod:`rnnlab.kernels.gru_members`: the members' weights stacked (N, ...), every array
inside member-first and time-major, (N, T, B, ...). Each step is two batched products for all
members (the context's, ``y_{t-1} W_hh^T``, and the readout's, ``h_t W_ho^T``; ``torch.bmm``,
MKL's batched GEMM) and the elementwise math of every member and row in compiled calls shared
among numba's threads (the equations are in :mod:`rnnlab.kernels.jordan`). The input
projections before the loop and the weight gradients after it are a few batched products.

:func:`rnnlab.layers.members_reference` is the oracle, and what gradients with a graph (second
order) differentiate.
"""

import torch
from numba import njit, prange

from rnnlab.kernels import second_order
from rnnlab.kernels.common import activate, slope
from rnnlab.kernels.members import (
    input_gradients,
    input_projections,
    match_torch_threads,
    output_gradient,
    state_gradient,
)


@njit(cache=True, parallel=True)
def hidden_rows(pre, t, lengths, act, hidden):
    """hidden[:, t] = f(pre) (N, B, H) in the active rows, 0 elsewhere; hidden (N, T, B, H)."""
    N, B, H = pre.shape
    for k in prange(N * B):
        n, b = k // B, k % B
        active = t < lengths[b]
        for i in range(H):
            hidden[n, t, b, i] = activate(pre[n, b, i], act) if active else 0.0


@njit(cache=True, parallel=True)
def output_rows(z, b_ho, y, t, lengths, out_act, out):
    """y = g(z + b_ho) in place in the active rows (N, B, O), held elsewhere; out[:, t] is y
    there and 0 elsewhere (out (N, T, B, O))."""
    N, B, O = z.shape
    for k in prange(N * B):
        n, b = k // B, k % B
        if t < lengths[b]:
            for o in range(O):
                v = activate(z[n, b, o] + b_ho[n, o], out_act)
                y[n, b, o] = v
                out[n, t, b, o] = v
        else:
            for o in range(O):
                out[n, t, b, o] = 0.0


@njit(cache=True, parallel=True)
def output_grad_rows(dy, dout, out, t, lengths, out_act, dz):
    """dz[:, t] = (dout[:, t] + dy) g'(z_t) in the active rows, 0 elsewhere; then dy set to 0
    there (dy_{t-1} = da_t W_hh follows), held in the others."""
    N, B, O = dy.shape
    for k in prange(N * B):
        n, b = k // B, k % B
        if t < lengths[b]:
            for o in range(O):
                dz[n, t, b, o] = (dy[n, b, o] + dout[n, t, b, o]) * slope(out[n, t, b, o], out_act)
                dy[n, b, o] = 0.0
        else:
            for o in range(O):
                dz[n, t, b, o] = 0.0


@njit(cache=True, parallel=True)
def hidden_grad_rows(dh, hidden, t, lengths, act, da):
    """da[:, t] = dh f'(a_t) in the active rows, 0 elsewhere; dh (N, B, H)."""
    N, B, H = dh.shape
    for k in prange(N * B):
        n, b = k // B, k % B
        active = t < lengths[b]
        for i in range(H):
            da[n, t, b, i] = dh[n, b, i] * slope(hidden[n, t, b, i], act) if active else 0.0


def forward_loop(gi, w_hh, w_ho, b_ho, y0, lengths, reverse, act, out_act):
    """gi (N, T, B, H), w_hh (N, H, O), w_ho (N, O, H), b_ho (N, O), y0 (N, B, O). Returns
    out (N, T, B, O), hidden (N, T, B, H), y_prev (N, T, B, O) (the context each step read)
    and the final state."""
    match_torch_threads()
    N, T, B, H = gi.shape
    O = w_ho.shape[1]
    out, hidden = gi.new_empty((N, T, B, O)), torch.empty_like(gi)
    y_prev = torch.empty_like(out)
    y = y0.clone()
    pre, z = gi.new_empty((N, B, H)), gi.new_empty((N, B, O))
    w_hh_t, w_ho_t = w_hh.transpose(1, 2), w_ho.transpose(1, 2)
    pre_, z_, y_, b_ho_ = pre.numpy(), z.numpy(), y.numpy(), b_ho.contiguous().numpy()
    out_, hidden_ = out.numpy(), hidden.numpy()
    for s in range(T):
        t = T - 1 - s if reverse else s
        y_prev[:, t] = y
        torch.baddbmm(gi[:, t], y, w_hh_t, out=pre)
        hidden_rows(pre_, t, lengths, act, hidden_)
        torch.bmm(hidden[:, t], w_ho_t, out=z)
        output_rows(z_, b_ho_, y_, t, lengths, out_act, out_)
    return out, hidden, y_prev, y


def backward_loop(dout, dy, out, hidden, w_hh, w_ho, lengths, reverse, act, out_act):
    """dout (N, T, B, O) and dy (N, B, O) contiguous (``dy`` consumed). Returns dz (N, T, B,
    O), da (N, T, B, H) and dy0."""
    match_torch_threads()
    N, T, B, _ = dout.shape
    dz, da = torch.empty_like(dout), torch.empty_like(hidden)
    dh = hidden.new_empty((N, B, hidden.shape[-1]))
    dy_, dout_, out_, dz_ = dy.numpy(), dout.numpy(), out.numpy(), dz.numpy()
    dh_, hidden_, da_ = dh.numpy(), hidden.numpy(), da.numpy()
    for s in range(T):
        t = s if reverse else T - 1 - s
        output_grad_rows(dy_, dout_, out_, t, lengths, out_act, dz_)
        torch.bmm(dz[:, t], w_ho, out=dh)
        hidden_grad_rows(dh_, hidden_, t, lengths, act, da_)
        dy.baddbmm_(da[:, t], w_hh)  # dy_{t-1} = da_t W_hh in the active rows
    return dz, da, dy


class JordanMembersFunction(torch.autograd.Function):
    """One Jordan layer and direction of N members: x (N, B, T, I) or (B, T, I) shared, y0
    (N, B, O), weights (N, ...), b_ih and b_hh both (N, H) or both None, w_ho (N, O, H), b_ho
    (N, O) or None -> outputs (N, B, T, O) and final states (N, B, O). ``lengths``: an int64
    array (B,), shared; ``act`` and ``out_act`` activation codes. ``reference``: the same
    function as torch operations, for gradients with a graph."""

    @staticmethod
    def forward(ctx, x, y0, w_ih, w_hh, b_ih, b_hh, w_ho, b_ho, lengths, reverse, act, out_act,
                reference=None):  # fmt: skip
        inputs = second_order.keep(
            ctx, "JordanMembersFunction", reference, (x, y0, w_ih, w_hh, b_ih, b_hh, w_ho, b_ho)
        )
        w_ih, w_hh, w_ho = w_ih.detach(), w_hh.detach(), w_ho.detach()
        N, O = w_ho.shape[0], w_ho.shape[1]
        gi, xt = input_projections(x.detach(), w_ih)  # (N, T, B, H)
        if b_ih is not None:
            gi += (b_ih.detach() + b_hh.detach())[:, None, None, :]
        bias_o = w_ho.new_zeros((N, O)) if b_ho is None else b_ho.detach()
        out, hidden, y_prev, y = forward_loop(
            gi, w_hh, w_ho, bias_o, y0.detach().contiguous(), lengths, reverse, act, out_act
        )
        ctx.save_for_backward(xt, out, hidden, y_prev, w_ih, w_hh, w_ho, *inputs)
        ctx.options = (lengths, reverse, act, out_act, b_ih is not None, b_ho is not None,
                       x.dim() == 3)  # fmt: skip
        ctx.set_materialize_grads(False)
        return out.transpose(1, 2), y

    @staticmethod
    def backward(ctx, d_outputs, d_final):
        if second_order.needs_reference(ctx, ()):
            return second_order.reference_gradients(ctx, (d_outputs, d_final))
        xt, out, hidden, y_prev, w_ih, w_hh, w_ho = ctx.saved_tensors[:7]
        lengths, reverse, act, out_act, has_bias, has_out_bias, shared = ctx.options
        N, T, B, O = out.shape
        H = hidden.shape[-1]
        dout = output_gradient(d_outputs, out)
        dy = state_gradient(d_final, out[:, 0])  # (N, B, O)
        dz, da, dy = backward_loop(dout, dy, out, hidden, w_hh, w_ho, lengths, reverse, act,
                                   out_act)  # fmt: skip
        dx, dw_ih = input_gradients(da, xt, w_ih, shared)
        da2, dz2 = da.view(N, T * B, H), dz.view(N, T * B, O)
        dw_hh = torch.bmm(da2.transpose(1, 2), y_prev.view(N, T * B, O))
        dw_ho = torch.bmm(dz2.transpose(1, 2), hidden.view(N, T * B, H))
        db = da2.sum(1) if has_bias else None
        db_ho = dz2.sum(1) if has_out_bias else None
        return dx, dy, dw_ih, dw_hh, db, db, dw_ho, db_ho, None, None, None, None, None
