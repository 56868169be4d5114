"""The GRU time loop for N networks at once: one layer and direction of every member of an
ensemble (:class:`rnnlab.models.ensemble.Ensemble`), forward and backward.

The members' weights are stacked, (N, ...); inside, every array is member-first and then
time-major, (N, T, B, ...) (:mod:`rnnlab.kernels.members`). Each step is one batched product
for all members, ``gh = h W_hh^T`` (``torch.bmm``: MKL's batched GEMM, on torch's threads, so
that the members share the cores one small network leaves idle), and the elementwise math of
every member and row (the equations are in :mod:`rnnlab.kernels.gru`). The input projections
of every step and member are one product before the loop, the weight gradients a few after it.

The elementwise math of a step is one compiled call over every member and row, the rows of
:mod:`rnnlab.kernels.gru` shared among numba's threads (``prange``). Torch's elementwise calls
over all members at once (the torch driver of :mod:`rnnlab.kernels.gru`, batched) were slower
at every size measured, 1.1-2x (N, B, H from (8, 1, 20) to (4, 16, 128), bench/ensemble.py's
cases among them), and are not kept.
:func:`rnnlab.layers.members_reference` (the members one by one on the reference unroll) is the
oracle, and what gradients with a graph (second order) differentiate.
"""

import torch
from numba import njit, prange

from rnnlab.kernels import second_order
from rnnlab.kernels.gru import backward_row, forward_row
from rnnlab.kernels.members import (
    input_gradients,
    input_projections,
    match_torch_threads,
    output_gradient,
    recurrent_gradient,
    state_gradient,
)


@njit(cache=True, parallel=True)
def forward_rows(gi, gh, b_hn, h, t, lengths, gates, hn, out):
    """Step t of every member: gi and gates (N, T, B, 3H), gh (N, B, 3H) this step's
    recurrent products, b_hn (N, H), h (N, B, H) the state (updated in place), hn and out
    (N, T, B, H); padded rows hold their state and get zeros. Whole arrays and t, so that
    every row is a contiguous slice and its loop vectorises."""
    N, B, G = gh.shape
    H = G // 3
    for k in prange(N * B):  # the rows on numba's threads
        n, b = k // B, k % B
        if t < lengths[b]:
            x, y, g = gi[n, t, b], gh[n, b], gates[n, t, b]
            forward_row(
                x[:H], x[H : 2 * H], x[2 * H :], y[:H], y[H : 2 * H], y[2 * H :], b_hn[n],
                h[n, b], g[:H], g[H : 2 * H], g[2 * H :], hn[n, t, b], out[n, t, b],
            )  # fmt: skip
        else:
            gates[n, t, b] = 0.0
            hn[n, t, b] = 0.0
            out[n, t, b] = 0.0


@njit(cache=True, parallel=True)
def backward_rows(dh, dout, gates, hn, out, h0, t, lengths, reverse, da_n, dgh):
    """Step t of every member backward: ``dh`` (N, B, H) from dh_t to dh_{t-1} without its
    product (``dgh_t W_hh`` follows); dout, out, hn, da_n (N, T, B, H), gates and dgh (N, T,
    B, 3H), h0 (N, B, H); fills da_n[:, t] and dgh[:, t], 0 in padded rows (where dh passes
    through)."""
    N, B, H = dh.shape
    for k in prange(N * B):  # the rows on numba's threads
        n, b = k // B, k % B
        if t < lengths[b]:
            if reverse:
                h_prev = out[n, t + 1, b] if t + 1 < lengths[b] else h0[n, b]
            else:
                h_prev = out[n, t - 1, b] if t > 0 else h0[n, b]
            gate, grad = gates[n, t, b], dgh[n, t, b]
            backward_row(
                dh[n, b], dout[n, t, b], gate[:H], gate[H : 2 * H], gate[2 * H :],
                hn[n, t, b], h_prev, da_n[n, t, b], grad[:H], grad[H : 2 * H], grad[2 * H :],
            )  # fmt: skip
        else:
            da_n[n, t, b] = 0.0
            dgh[n, t, b] = 0.0


def forward_loop(gi, w_hh, b_hn, h0, lengths, reverse: bool):
    """Forward through time, the elementwise math of each step compiled
    (:func:`forward_rows`): gi (N, T, B, 3H),
    w_hh (N, 3H, H), b_hn (N, H), h0 (N, B, H). Returns out, hn (N, T, B, H), gates (N, T,
    B, 3H) and the final state (N, B, H)."""
    match_torch_threads()
    N, T, B, G = gi.shape
    out = gi.new_empty((N, T, B, G // 3))
    gates, hn = torch.empty_like(gi), torch.empty_like(out)
    h = h0.clone()
    gh = gi.new_empty((N, B, G))
    w_t = w_hh.transpose(1, 2)  # (N, H, 3H)
    gi_, gh_, b_hn_, h_ = gi.numpy(), gh.numpy(), b_hn.contiguous().numpy(), h.numpy()
    gates_, hn_, out_ = gates.numpy(), hn.numpy(), out.numpy()
    for s in range(T):
        t = T - 1 - s if reverse else s
        torch.bmm(h, w_t, out=gh)
        forward_rows(gi_, gh_, b_hn_, h_, t, lengths, gates_, hn_, out_)
    return out, hn, gates, h


def backward_loop(dout, dh, gates, hn, out, h0, w_hh, lengths, reverse: bool):
    """The backward loop, its elementwise math compiled (:func:`backward_rows`): dout (N, T,
    B, H) and dh (N, B, H) contiguous (``dh`` is consumed). Returns da_n (N, T, B, H), dgh
    (N, T, B, 3H) and dh0 (N, B, H)."""
    match_torch_threads()
    da_n, dgh = torch.empty_like(out), torch.empty_like(gates)
    dh_, dout_, gates_, hn_ = dh.numpy(), dout.numpy(), gates.numpy(), hn.numpy()
    out_, h0_, da_n_, dgh_ = out.numpy(), h0.numpy(), da_n.numpy(), dgh.numpy()
    T = out.shape[1]
    for s in range(T):
        t = s if reverse else T - 1 - s
        backward_rows(dh_, dout_, gates_, hn_, out_, h0_, t, lengths, reverse, da_n_, dgh_)
        dh.baddbmm_(dgh[:, t], w_hh)  # + dgh_t W_hh; a padded row's dgh is 0: dh passes
    return da_n, dgh, dh


class GRUMembersFunction(torch.autograd.Function):
    """One GRU layer and direction of N members: x (N, B, T, I) or (B, T, I) shared, h0
    (N, B, H), weights (N, ...), b_ih and b_hh both (N, 3H) or both None -> outputs (N, B, T,
    H) and final states (N, B, H). ``lengths``: an int64 array (B,), shared. ``reference``:
    the same function as torch operations, for gradients with a graph."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, lengths, reverse, reference=None):
        inputs = second_order.keep(
            ctx, "GRUMembersFunction", reference, (x, h0, w_ih, w_hh, b_ih, b_hh)
        )
        N, G, _ = w_ih.shape
        H = G // 3
        w_ih, w_hh = w_ih.detach(), w_hh.detach()
        gi, xt = input_projections(x.detach(), w_ih)  # (N, T, B, 3H)
        if b_ih is None:
            b_hn = w_hh.new_zeros((N, H))
        else:
            b_ih, b_hh = b_ih.detach(), b_hh.detach()
            # The recurrent biases of r and z fold into gi; the one of n cannot (r scales it).
            gi[..., : 2 * H] += (b_ih[:, : 2 * H] + b_hh[:, : 2 * H])[:, None, None, :]
            gi[..., 2 * H :] += b_ih[:, None, None, 2 * H :]
            b_hn = b_hh[:, 2 * H :]
        h0 = h0.detach().contiguous()  # a default state comes expanded over the members
        out, hn, gates, h = forward_loop(gi, w_hh, b_hn, h0, lengths, reverse)
        ctx.save_for_backward(xt, gates, hn, out, h0, w_ih, w_hh, *inputs)
        ctx.options = (lengths, reverse, b_ih is not None, x.dim() == 3)
        ctx.set_materialize_grads(False)
        return out.transpose(1, 2), h

    @staticmethod
    def backward(ctx, d_outputs, d_final):
        if second_order.needs_reference(ctx, ()):
            return second_order.reference_gradients(ctx, (d_outputs, d_final))
        xt, gates, hn, out, h0, w_ih, w_hh = ctx.saved_tensors[:7]
        lengths, reverse, has_bias, shared = ctx.options
        N, T, B, H = out.shape
        dout, dh = output_gradient(d_outputs, out), state_gradient(d_final, h0)
        da_n, dgh, dh = backward_loop(dout, dh, gates, hn, out, h0, w_hh, lengths, reverse)
        # dgi = [dgh_r, dgh_z, da_n] is never built: two products each for dx and dW_ih
        dx_rz, dw_rz = input_gradients(dgh[..., : 2 * H], xt, w_ih[:, : 2 * H], shared)
        dx_n, dw_n = input_gradients(da_n, xt, w_ih[:, 2 * H :], shared)
        dx, dw_ih = dx_rz + dx_n, torch.cat([dw_rz, dw_n], dim=1)
        dw_hh = recurrent_gradient(dgh, out, h0, lengths, reverse)
        db_ih = db_hh = None
        if has_bias:
            db_hh = dgh.view(N, T * B, -1).sum(1)
            db_ih = torch.cat([db_hh[:, : 2 * H], da_n.view(N, T * B, H).sum(1)], dim=1)
        return dx, dh, dw_ih, dw_hh, db_ih, db_hh, None, None, None
