"""The LSTM time loop, compiled: forward and backward through time for one layer and direction.

Only the recurrent part runs in the loop. :class:`LSTMFunction` computes the input projections
of all steps in one GEMM before it, ``gi = x W_ih^T + b_ih + b_hh`` (T, B, 4H), gates stacked
i, f, g, o as in torch.nn; the loop keeps ``h W_hh^T`` and the elementwise math, with the
optional peepholes ``p = [p_i; p_f; p_o]`` (3, H) (see :class:`rnnlab.LSTMCell`)::

    forward    a_t = gi_t + h_{t-1} W_hh^T                        = [a_i, a_f, a_g, a_o]
               i_t = sigmoid(a_i + p_i c_{t-1}),   f_t = sigmoid(a_f + p_f c_{t-1})
               g_t = tanh(a_g),                    c_t = f_t c_{t-1} + i_t g_t
               o_t = sigmoid(a_o + p_o c_t),       h_t = o_t tanh(c_t)

    backward   dh = dy_t + dh_t,   dc = dc_t                        (dh_t, dc_t from step t + 1)
               da_o = dh tanh(c_t) o_t (1 - o_t)
               dc  += dh o_t (1 - tanh(c_t)^2) + da_o p_o
               da_i = dc g_t i_t (1 - i_t),   da_f = dc c_{t-1} f_t (1 - f_t)
               da_g = dc i_t (1 - g_t^2)
               dc_{t-1} = dc f_t + da_i p_i + da_f p_f,   dh_{t-1} = da_t W_hh

After the loop the rest are GEMMs and sums over all steps at once: ``dx = da W_ih``,
``dW_ih = da^T x``, ``dW_hh = da^T h_prev``, ``db_ih = db_hh = sum da``, and
``dp_i = sum da_i c_prev``, ``dp_f = sum da_f c_prev``, ``dp_o = sum da_o c``. The states
before every step, ``h_prev`` and ``c_prev``, are not stored: they are the outputs and cells
shifted by one step, with h0 and c0 where a row starts.

Arrays are time-major, (T, B, ...): gates (T, B, 4, H), the activated i, f, g, o; outside,
batch-first (B, T, ...). ``lengths[b]`` marks the valid steps of row b: at ``t >= lengths[b]``
the state (h and c) is held and the outputs, cells and gates are 0, exactly as the reference path
(:mod:`rnnlab.layers`). ``reverse`` runs time backwards (the second direction), so a padded row
starts at ``t = lengths[b] - 1`` from its initial state.

Two drivers, same results: a compiled loop (numba; its products on torch's BLAS, its exp and
tanh from :mod:`rnnlab.kernels.vmath`) and a Python loop of torch ops. Which runs is chosen per
pass (:func:`rnnlab.kernels.dispatch.choose_loops`): the forward by size, the backward compiled
wherever torch's BLAS can serve it. The torch backward is linear in ``(dh, dc)`` with
coefficients that depend only on the forward pass, so it computes them for all steps before the
loop and keeps six torch calls per step (seven with padding). Its compiled backward takes
tanh(c) of every step from one vectorised torch call.
"""

import numpy as np
import torch
from numba import njit

from rnnlab.kernels import second_order, vmath
from rnnlab.kernels.blas import product, weight_operand
from rnnlab.kernels.common import (
    carry_back,
    previous_states,
    product_with_previous,
    step_masks,
)
from rnnlab.kernels.dispatch import as_loops
from rnnlab.kernels.scratch import scratch

# -- the compiled driver ----------------------------------------------------------------------


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def forward_row(pre, p, h, c, gates, cells, out):
    """One row of one step, from 1-D contiguous slices (so that the loop vectorises): ``pre``
    (4H) the pre-activations, ``gates`` (4, H); updates ``h`` and ``c`` in place."""
    H = h.shape[0]
    for j in range(H):
        c_prev = c[j]
        i = vmath.sigmoid_of(pre[j] + p[0, j] * c_prev)
        f = vmath.sigmoid_of(pre[H + j] + p[1, j] * c_prev)
        g = vmath.tanh_of(pre[2 * H + j])
        c_new = f * c_prev + i * g
        o = vmath.sigmoid_of(pre[3 * H + j] + p[2, j] * c_new)
        h_new = o * vmath.tanh_of(c_new)
        gates[0, j] = i
        gates[1, j] = f
        gates[2, j] = g
        gates[3, j] = o
        cells[j] = c_new
        out[j] = h_new
        c[j] = c_new
        h[j] = h_new


@njit(cache=True)
def forward_step(pre, p, h, c, t, lengths, gates_t, cells_t, out_t):
    """One step from the pre-activations ``pre`` (B, 4H) = gi_t + h_{t-1} W_hh^T: updates
    ``h`` and ``c`` in place for the active rows and writes this step's gates, cells and
    outputs (0 for the other rows)."""
    for b in range(h.shape[0]):
        if t < lengths[b]:
            forward_row(pre[b], p, h[b], c[b], gates_t[b], cells_t[b], out_t[b])
        else:
            gates_t[b] = 0.0
            cells_t[b] = 0.0
            out_t[b] = 0.0


@njit(cache=True)
def backward_step(dh, dc, dout_t, tanh_cells_t, gates_t, c_prev_t, p, t, lengths, da_t):
    """da_t (B, 4H) for the active rows (0 elsewhere) and dc_{t-1} in place; ``dh`` is read
    only (dh_{t-1} = da_t W_hh follows)."""
    B, H = dh.shape
    for b in range(B):
        if t < lengths[b]:
            for j in range(H):
                i = gates_t[b, 0, j]
                f = gates_t[b, 1, j]
                g = gates_t[b, 2, j]
                o = gates_t[b, 3, j]
                tc = tanh_cells_t[b, j]
                dh_j = dh[b, j] + dout_t[b, j]
                da_o = dh_j * tc * o * (1.0 - o)
                dc_j = dc[b, j] + dh_j * o * (1.0 - tc * tc) + da_o * p[2, j]
                da_i = dc_j * g * i * (1.0 - i)
                da_f = dc_j * c_prev_t[b, j] * f * (1.0 - f)
                da_g = dc_j * i * (1.0 - g * g)
                dc[b, j] = dc_j * f + da_i * p[0, j] + da_f * p[1, j]
                da_t[b, j] = da_i
                da_t[b, H + j] = da_f
                da_t[b, 2 * H + j] = da_g
                da_t[b, 3 * H + j] = da_o
        else:
            for k in range(4 * H):
                da_t[b, k] = 0.0


@njit(cache=True)
def forward_loop(gi, recurrent, p, h, c, lengths, reverse, gates, cells, out):
    """Forward through time; ``h`` and ``c`` (B, H) hold h0 and c0 on entry and the final
    state on return. Fills ``gates`` (T, B, 4, H), ``cells`` and ``out`` (T, B, H)."""
    T = gi.shape[0]
    pre = np.empty(gi.shape[1:], gi.dtype)
    for s in range(T):
        t = T - 1 - s if reverse else s
        pre[:] = gi[t]
        product(recurrent, h, pre, True)  # + h W_hh^T, (B, 4H)
        forward_step(pre, p, h, c, t, lengths, gates[t], cells[t], out[t])


@njit(cache=True)
def backward_loop(dout, dh, dc, tanh_cells, gates, c_prev, recurrent, p, lengths, reverse, da):
    """Backward through time; ``dh`` and ``dc`` (B, H) hold the final state's gradients on
    entry and those of h0 and c0 on return. Fills ``da`` (T, B, 4H), 0 at padded steps, where
    ``dh`` and ``dc`` pass through."""
    T = dout.shape[0]
    for s in range(T):
        t = s if reverse else T - 1 - s
        backward_step(dh, dc, dout[t], tanh_cells[t], gates[t], c_prev[t], p, t, lengths, da[t])
        carry_back(dh, da[t], recurrent, t, lengths)


# -- the drivers --------------------------------------------------------------------------------


def peephole_or_zeros(w_peephole, like):
    """The peepholes as a contiguous (3, H) array for the compiled loop, zeros if None."""
    return like.new_zeros((3, like.shape[-1])) if w_peephole is None else w_peephole.contiguous()


def forward(gi, w_hh, w_peephole, h0, c0, lengths, reverse: bool, compiled: bool):
    """Run the loop. Returns out and cells (T, B, H), gates (T, B, 4, H) and the final h and c
    (B, H).

    ``gi`` (T, B, 4H), ``w_hh`` (4H, H), ``w_peephole`` (3, H) or None, ``h0`` and ``c0``
    (B, H) are torch tensors on the CPU; ``lengths`` an int64 array (B,). ``gi`` is consumed:
    the gates are written over it (``gates`` is ``gi`` viewed as (T, B, 4, H)).
    """
    T, B, G = gi.shape
    H = G // 4
    gates = gi.view(T, B, 4, H)
    cells = gi.new_empty((T, B, H))
    out = gi.new_empty((T, B, H))
    if compiled:
        h, c = (
            h0.clone(memory_format=torch.contiguous_format),
            c0.clone(memory_format=torch.contiguous_format),
        )
        forward_loop(
            gi.numpy(), weight_operand(w_hh.t(), B, "lstm.forward"),
            peephole_or_zeros(w_peephole, h0).numpy(), h.numpy(), c.numpy(), lengths, reverse,
            gates.numpy(), cells.numpy(), out.numpy(),
        )  # fmt: skip
        return out, cells, gates, h, c

    masks = step_masks(lengths, T)
    w_hh_t = w_hh.t()
    # Views of every step, made once: indexing inside the loop costs a call each.
    pre = gi.unbind(0)  # (B, 4H): gi_t, then a_t, then the gates, in place
    pre_if = gates[:, :, :2].unbind(0)  # i and f, (B, 2, H)
    i_, f_, g_, o_ = (gates[:, :, k].unbind(0) for k in range(4))
    cell, hidden = cells.unbind(0), out.unbind(0)
    active = None if masks is None else masks.unbind(0)
    p_if = None if w_peephole is None else w_peephole[:2]
    p_o = None if w_peephole is None else w_peephole[2]
    h, c = h0, c0
    for s in range(T):
        t = T - 1 - s if reverse else s
        pre[t].addmm_(h, w_hh_t)
        if p_if is not None:
            pre_if[t].addcmul_(p_if, c.unsqueeze(1))
        pre_if[t].sigmoid_()
        g_[t].tanh_()
        c_new = torch.mul(f_[t], c, out=cell[t]).addcmul_(i_[t], g_[t])
        if p_o is not None:
            o_[t].addcmul_(p_o, c_new)
        o_[t].sigmoid_()
        h_new = torch.tanh(c_new, out=hidden[t]).mul_(o_[t])
        if active is None:
            h, c = h_new, c_new
        else:
            h = torch.where(active[t], h_new, h)
            c = torch.where(active[t], c_new, c)
    if masks is None:
        return out, cells, gates, h.clone(), c.clone()
    out.mul_(masks)
    cells.mul_(masks)
    gates.mul_(masks[..., None])
    return out, cells, gates, h, c


def backward(dout, dh_final, dc_final, cells, gates, c_prev, w_hh, w_peephole, lengths,
             reverse: bool, compiled: bool):  # fmt: skip
    """Backward through time. Returns da (T, B, 4, H), the gradient of every pre-activation
    (0 at padded steps), and dh0, dc0 (B, H)."""
    T, B, _, H = gates.shape
    dh = dh_final.clone(memory_format=torch.contiguous_format)
    dc = dc_final.clone(memory_format=torch.contiguous_format)
    if compiled:
        da = scratch("lstm.da", (T, B, 4, H), gates)
        backward_loop(
            # tanh(c) of every step in one vectorised call: numba's tanh is a scalar call
            dout.numpy(), dh.numpy(), dc.numpy(), torch.tanh(cells).numpy(), gates.numpy(),
            c_prev.numpy(), weight_operand(w_hh, B, "lstm.backward"),
            peephole_or_zeros(w_peephole, dh).numpy(), lengths, reverse,
            da.view(T, B, 4 * H).numpy(),
        )  # fmt: skip
        return da, dh, dc

    masks = step_masks(lengths, T)
    # The step is linear in (dh, dc): its coefficients, for every step at once,
    #     da_i, da_f, da_g = dc k[:, :, :3],   da_o = dh k[:, :, 3],
    #     dc += dh k_c (before da_i, da_f, da_g),   dc_{t-1} = dc k_carry.
    # Each is 0 at padded steps, where the gates are, except k_carry, 1 there so that dc
    # passes. The loop turns k into da in place, step by step.
    # In-place chains, to allocate (and first touch) as little fresh memory as possible.
    i, f, g, o = gates.unbind(2)
    tc = torch.tanh(cells)
    k = torch.sub(1, gates).mul_(gates)  # the sigmoids' slopes; the one of g is replaced below
    k[:, :, 0] *= g
    k[:, :, 1] *= c_prev
    torch.mul(g, g, out=k[:, :, 2]).neg_().add_(1).mul_(i)
    k[:, :, 3] *= tc
    k_c = torch.mul(tc, tc).neg_().add_(1).mul_(o)
    k_carry = f
    if w_peephole is not None:
        k_carry = f.clone()
        k_c.addcmul_(k[:, :, 3], w_peephole[2])
        k_carry.addcmul_(k[:, :, 0], w_peephole[0]).addcmul_(k[:, :, 1], w_peephole[1])
    if masks is not None:
        k_carry = torch.where(masks, k_carry, 1.0)
    da_flat = k.view(T, B, 4 * H).unbind(0)
    da_ifg, da_o = k[:, :, :3].unbind(0), k[:, :, 3].unbind(0)
    k_c, k_carry, dout_ = k_c.unbind(0), k_carry.unbind(0), dout.unbind(0)
    active = None if masks is None else masks.unbind(0)
    for s in range(T):
        t = s if reverse else T - 1 - s
        dh_t = dh + dout_[t]
        dc = torch.addcmul(dc, dh_t, k_c[t])
        da_o[t].mul_(dh_t)
        da_ifg[t].mul_(dc.unsqueeze(1))
        dc.mul_(k_carry[t])
        back = da_flat[t] @ w_hh
        dh = back if active is None else torch.where(active[t], back, dh)
    return k, dh, dc


class LSTMFunction(torch.autograd.Function):
    """One LSTM layer and direction on the fast path: x (B, T, I), h0 and c0 (B, H) ->
    outputs (B, T, H), the final h and c (B, H), and, not differentiable, the cells (B, T, H)
    and gates (B, T, 4, H) of every step. GEMMs outside the loop, the loop compiled or torch.

    ``apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peephole, lengths, reverse, compiled)``:
    ``b_ih`` and ``b_hh`` both tensors or both None, ``w_peephole`` (3, H) or None, ``lengths``
    an int64 array (B,) with values in [1, T], ``compiled`` True for numba (a bool for both
    passes, or a pair (forward, backward)), ``reference`` the same direction as a function of
    the tensor arguments, returning ``(outputs, h, c, cells, gates)``, for gradients with a graph
    and through the cells and gates (:mod:`rnnlab.kernels.second_order`).
    """

    @staticmethod
    def forward(
        ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peephole, lengths, reverse, compiled,
        reference=None,
    ):  # fmt: skip
        inputs = second_order.keep(
            ctx, "LSTMFunction", reference, (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peephole)
        )
        compiled, backward_compiled = as_loops(compiled)
        B, T, I = x.shape
        xt = x.detach().transpose(0, 1).contiguous()  # (T, B, I)
        # All input projections in one GEMM, both biases folded in.
        x2, w_ih_t = xt.view(T * B, I), w_ih.detach().t()
        gi = (
            x2 @ w_ih_t if b_ih is None else torch.addmm(b_ih.detach() + b_hh.detach(), x2, w_ih_t)
        ).view(T, B, -1)
        peephole = None if w_peephole is None else w_peephole.detach()
        h0_, c0_ = h0.detach().contiguous(), c0.detach().contiguous()
        out, cells, gates, h, c = forward(
            gi, w_hh.detach(), peephole, h0_, c0_, lengths, reverse, compiled
        )
        ctx.save_for_backward(xt, out, cells, gates, h0_, c0_, w_ih, w_hh, w_peephole, *inputs)
        ctx.options = (lengths, reverse, backward_compiled, b_ih is not None)
        ctx.set_materialize_grads(False)  # no zero-filled gradients for the cells and gates
        return out.transpose(0, 1), h, c, cells.transpose(0, 1), gates.transpose(0, 1)

    @staticmethod
    def backward(ctx, d_outputs, d_h, d_c, d_cells, d_gates):
        if second_order.needs_reference(ctx, (d_cells, d_gates)):
            return second_order.reference_gradients(ctx, (d_outputs, d_h, d_c, d_cells, d_gates))
        xt, out, cells, gates, h0, c0, w_ih, w_hh, w_peephole = ctx.saved_tensors[:9]
        lengths, reverse, compiled, has_bias = ctx.options
        needs = ctx.needs_input_grad
        T, B, I = xt.shape
        w_ih, w_hh = w_ih.detach(), w_hh.detach()
        peephole = None if w_peephole is None else w_peephole.detach()
        masks = step_masks(lengths, T)
        c_prev = previous_states(cells, c0, masks, reverse)
        # Gradients are None where an output was not used.
        dout = out.new_zeros(out.shape) if d_outputs is None else d_outputs.transpose(0, 1)
        if compiled and not dout.is_contiguous():  # the compiled loop needs it so
            dout = scratch("lstm.dout", dout.shape, dout).copy_(dout)
        d_h = h0.new_zeros(h0.shape) if d_h is None else d_h.contiguous()
        d_c = c0.new_zeros(c0.shape) if d_c is None else d_c.contiguous()
        da, dh0, dc0 = backward(
            dout, d_h, d_c, cells, gates, c_prev, w_hh, peephole, lengths, reverse, compiled
        )
        da2 = da.view(T * B, -1)  # (T*B, 4H): the weight gradients are a few large GEMMs
        dx = (da2 @ w_ih).view(T, B, I).transpose(0, 1) if needs[0] else None
        dw_ih = da2.t() @ xt.view(T * B, I) if needs[3] else None
        dw_hh = None
        if needs[4]:  # the state before each step is the previous output: no copy of it
            dw_hh = product_with_previous(da.view(T, B, -1), out, h0, lengths, reverse)
        db = da2.sum(0) if has_bias else None
        dp = None
        if w_peephole is not None and needs[7]:
            dp = torch.stack(
                (
                    (da[:, :, 0] * c_prev).sum((0, 1)),
                    (da[:, :, 1] * c_prev).sum((0, 1)),
                    (da[:, :, 3] * cells).sum((0, 1)),
                )
            )
        db_hh = None if db is None else db.clone()  # b_ih.grad and b_hh.grad must not alias
        return dx, dh0, dc0, dw_ih, dw_hh, db, db_hh, dp, None, None, None, None
