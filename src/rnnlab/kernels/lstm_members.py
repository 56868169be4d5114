"""The LSTM time loop for N networks at once: one layer and direction of every member of an
ensemble (:class:`rnnlab.models.ensemble.Ensemble`), forward and backward.

As in :mod:`rnnlab.kernels.gru_members`: the members' weights stacked (N, ...), every array
inside member-first and time-major, (N, T, B, ...); each step one batched product for all
members (``torch.baddbmm``, MKL's batched GEMM on torch's threads) and the elementwise math of
every member (the equations, peepholes included, are in :mod:`rnnlab.kernels.lstm`) in one
compiled call, its rows shared among numba's threads; the input projections before the loop
and the weight gradients after it are a few batched products.

:func:`rnnlab.layers.members_reference` is the oracle, and what gradients with a graph (second
order) differentiate.
"""

import torch
from numba import njit, prange

from rnnlab.kernels import second_order
from rnnlab.kernels.lstm import backward_step, forward_row
from rnnlab.kernels.members import (
    input_gradients,
    input_projections,
    match_torch_threads,
    output_gradient,
    recurrent_gradient,
    state_gradient,
    states_before,
)


@njit(cache=True, parallel=True)
def forward_steps(pre, p, h, c, t, lengths, gates, cells, out):
    """Step t of every member from its pre-activations ``pre`` (N, B, 4H): h and c (N, B, H)
    in place, the step's gates into ``gates`` (N, T, B, 4, H), cells and outputs into
    ``cells`` and ``out`` (N, T, B, H). The rows on numba's threads; whole arrays and t, so
    that every row is a contiguous slice and its loop vectorises."""
    N, B = h.shape[0], h.shape[1]
    for k in prange(N * B):
        n, b = k // B, k % B
        if t < lengths[b]:
            forward_row(
                pre[n, b], p[n], h[n, b], c[n, b], gates[n, t, b], cells[n, t, b], out[n, t, b]
            )
        else:
            gates[n, t, b] = 0.0
            cells[n, t, b] = 0.0
            out[n, t, b] = 0.0


@njit(cache=True, parallel=True)
def backward_steps(dh, dc, dout, tanh_cells, gates, c_prev, p, t, lengths, da):
    """Step t of every member backward: da[:, t] (N, T, B, 4H) and dc_{t-1} (N, B, H) in
    place, and ``dh`` set to 0 in the rows active at t, so that adding ``da_t W_hh`` gives
    dh_{t-1} (the other rows pass dh through); dout, tanh_cells and c_prev (N, T, B, H),
    gates (N, T, B, 4, H). The rows on numba's threads, each one row of
    :func:`rnnlab.kernels.lstm.backward_step`."""
    N, B = dh.shape[0], dh.shape[1]
    for k in prange(N * B):
        n, b = k // B, k % B
        rows = slice(b, b + 1)
        backward_step(
            dh[n, rows], dc[n, rows], dout[n, t, rows], tanh_cells[n, t, rows],
            gates[n, t, rows], c_prev[n, t, rows], p[n], t, lengths[rows], da[n, t, rows],
        )  # fmt: skip
        if t < lengths[b]:
            dh[n, b] = 0.0


def forward_loop(gi, w_hh, p, h0, c0, lengths, reverse: bool):
    """The loop, its elementwise math compiled (:func:`forward_steps`): gi (N, T, B, 4H),
    w_hh (N, 4H, H), p (N, 3, H) the peepholes (zeros for none), h0 and c0 (N, B, H). Returns
    out and cells (N, T, B, H), gates (N, T, B, 4, H), the final h and c."""
    match_torch_threads()
    N, T, B, G = gi.shape
    H = G // 4
    h, c = h0.clone(), c0.clone()
    out, cells = gi.new_empty((N, T, B, H)), gi.new_empty((N, T, B, H))
    gates = gi.new_empty((N, T, B, 4, H))
    pre = gi.new_empty((N, B, G))
    w_t = w_hh.transpose(1, 2)  # (N, H, 4H)
    pre_, p_, h_, c_ = pre.numpy(), p.numpy(), h.numpy(), c.numpy()
    gates_, cells_, out_ = gates.numpy(), cells.numpy(), out.numpy()
    for s in range(T):
        t = T - 1 - s if reverse else s
        torch.baddbmm(gi[:, t], h, w_t, out=pre)
        forward_steps(pre_, p_, h_, c_, t, lengths, gates_, cells_, out_)
    return out, cells, gates, h, c


def backward_loop(dout, dh, dc, cells, gates, c_prev, w_hh, p, lengths, reverse: bool):
    """The backward loop, its elementwise math compiled (:func:`backward_steps`); dh and dc
    (N, B, H) contiguous, consumed. Returns da (N, T, B, 4H) and dh0, dc0."""
    match_torch_threads()
    N, T, B, H = dout.shape
    da = dout.new_empty((N, T, B, 4 * H))
    tanh_cells = torch.tanh(cells)  # in one vectorised call: numba's tanh is a scalar call
    dh_, dc_, dout_, tc_ = dh.numpy(), dc.numpy(), dout.numpy(), tanh_cells.numpy()
    gates_, c_prev_, p_, da_ = gates.numpy(), c_prev.numpy(), p.numpy(), da.numpy()
    for s in range(T):
        t = s if reverse else T - 1 - s
        backward_steps(dh_, dc_, dout_, tc_, gates_, c_prev_, p_, t, lengths, da_)
        dh.baddbmm_(da[:, t], w_hh)  # dh_{t-1} = da_t W_hh in the active rows
    return da, dh, dc


class LSTMMembersFunction(torch.autograd.Function):
    """One LSTM layer and direction of N members: x (N, B, T, I) or (B, T, I) shared, h0 and
    c0 (N, B, H), weights (N, ...), b_ih and b_hh both (N, 4H) or both None, w_peephole (N, 3,
    H) or None -> outputs (N, B, T, H), final h and c (N, B, H). ``lengths``: an int64 array
    (B,), shared. ``reference``: the same function as torch operations, for gradients with a
    graph."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peephole, lengths, reverse,
                reference=None):  # fmt: skip
        inputs = second_order.keep(
            ctx, "LSTMMembersFunction", reference, (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peephole)
        )
        N, G, _ = w_ih.shape
        H = G // 4
        w_ih, w_hh = w_ih.detach(), w_hh.detach()
        gi, xt = input_projections(x.detach(), w_ih)  # (N, T, B, 4H)
        if b_ih is not None:
            gi += (b_ih.detach() + b_hh.detach())[:, None, None, :]
        p = w_hh.new_zeros((N, 3, H)) if w_peephole is None else w_peephole.detach().contiguous()
        h0, c0 = h0.detach().contiguous(), c0.detach().contiguous()
        out, cells, gates, h, c = forward_loop(gi, w_hh, p, h0, c0, lengths, reverse)
        ctx.save_for_backward(xt, out, cells, gates, h0, c0, w_ih, w_hh, p, *inputs)
        ctx.options = (
            lengths, reverse, b_ih is not None, w_peephole is not None, x.dim() == 3
        )  # fmt: skip
        ctx.set_materialize_grads(False)
        return out.transpose(1, 2), h, c

    @staticmethod
    def backward(ctx, d_outputs, d_h, d_c):
        if second_order.needs_reference(ctx, ()):
            return second_order.reference_gradients(ctx, (d_outputs, d_h, d_c))
        xt, out, cells, gates, h0, c0, w_ih, w_hh, p = ctx.saved_tensors[:9]
        lengths, reverse, has_bias, has_peephole, shared = ctx.options
        N, T, B, H = out.shape
        c_prev = states_before(cells, c0, lengths, reverse)
        dout = output_gradient(d_outputs, out)
        dh, dc = state_gradient(d_h, h0), state_gradient(d_c, c0)
        da, dh, dc = backward_loop(dout, dh, dc, cells, gates, c_prev, w_hh, p, lengths, reverse)
        dx, dw_ih = input_gradients(da, xt, w_ih, shared)
        dw_hh = recurrent_gradient(da, out, h0, lengths, reverse)
        db = db_hh = dp = None
        if has_bias:
            db = da.view(N, T * B, -1).sum(1)
            db_hh = db.clone()  # b_ih.grad and b_hh.grad must not alias
        if has_peephole:
            da4 = da.view(N, T, B, 4, H)
            dp = torch.stack(
                (
                    (da4[..., 0, :] * c_prev).sum((1, 2)),
                    (da4[..., 1, :] * c_prev).sum((1, 2)),
                    (da4[..., 3, :] * cells).sum((1, 2)),
                ),
                dim=1,
            )  # (N, 3, H)
        return dx, dh, dc, dw_ih, dw_hh, db, db_hh, dp, None, None, None
