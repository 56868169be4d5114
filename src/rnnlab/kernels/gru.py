"""The GRU time loop, compiled: forward and backward through time for one layer and direction.

Only the recurrent part runs in the loop. :class:`GRUFunction` computes the input projections
of all steps in one GEMM before it, ``gi = x W_ih^T + b_ih + [b_hr, b_hz, 0]`` (T, B, 3H):
the recurrent biases of r and z fold into ``gi``, the one of n cannot, since r scales it. The
loop keeps ``gh = h W_hh^T`` and the elementwise math, gates stacked r, z, n (torch's variant,
see :class:`rnnlab.GRUCell`)::

    forward    gh_t = h_{t-1} W_hh^T,   hn_t = gh_n + b_hn
               r_t = sigmoid(gi_r + gh_r),   z_t = sigmoid(gi_z + gh_z)
               n_t = tanh(gi_n + r_t * hn_t),   h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    backward   g = dy_t + dh_t                                  (dh_t from step t + 1)
               da_n = g (1 - z_t)(1 - n_t^2),   da_z = g (h_{t-1} - n_t) z_t (1 - z_t)
               da_r = da_n hn_t r_t (1 - r_t),  dhn = da_n r_t
               dgi_t = [da_r, da_z, da_n],      dgh_t = [da_r, da_z, dhn]
               dh_{t-1} = g z_t + dgh_t W_hh

After the loop the rest are GEMMs and sums over all steps at once: ``dx = dgi W_ih``,
``dW_ih = dgi^T x``, ``dW_hh = dgh^T h_prev``, ``db_ih = sum dgi``, ``db_hh = sum dgh``.

Arrays are time-major, (T, B, ...), gates (T, B, 3H) inside and (B, T, 3, H) outside.
``lengths[b]`` marks the valid steps of row b: at ``t >= lengths[b]`` the state is held and the
output and gates are 0, exactly as the reference path (:mod:`rnnlab.layers`). ``reverse`` runs
time backwards (the second direction), so a padded row starts at ``t = lengths[b] - 1``.

Two drivers, same results: a compiled loop (numba; its products on torch's BLAS, its exp and
tanh from :mod:`rnnlab.kernels.vmath`) and a Python loop of torch ops. Which runs is chosen per
pass (:func:`rnnlab.kernels.dispatch.choose_loops`): the forward by size, the backward compiled
wherever torch's BLAS can serve it. The torch backward is linear in ``g`` with coefficients that
depend only on the forward pass, so it computes them for all steps before the loop and keeps
four torch calls per step.
"""

import numpy as np
import torch
from numba import njit

from rnnlab.kernels import second_order, vmath
from rnnlab.kernels.blas import product, weight_operand
from rnnlab.kernels.common import previous_states, product_with_previous, step_masks
from rnnlab.kernels.dispatch import as_loops
from rnnlab.kernels.scratch import scratch

# -- the compiled driver ----------------------------------------------------------------------


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def forward_row(gi_r, gi_z, gi_n, gh_r, gh_z, gh_n, b_hn, h, r_out, z_out, n_out, hn_out, out):
    """One row of one step, from 1-D contiguous slices (so that the loop vectorises): the
    gates into ``*_out``, ``gh_n + b_hn`` into ``hn_out``, the new state into ``h`` and
    ``out``."""
    one = h.dtype.type(1)
    for i in range(h.shape[0]):
        r = vmath.sigmoid_of(gi_r[i] + gh_r[i])
        z = vmath.sigmoid_of(gi_z[i] + gh_z[i])
        a = gh_n[i] + b_hn[i]
        n = vmath.tanh_of(gi_n[i] + r * a)
        v = (one - z) * n + z * h[i]
        r_out[i] = r
        z_out[i] = z
        n_out[i] = n
        hn_out[i] = a
        h[i] = v
        out[i] = v


@njit(cache=True)
def forward_loop(gi, recurrent, b_hn, h, lengths, reverse, out, gates, hn):
    """Forward through time; ``h`` (B, H) holds h0 on entry and the final state on return.

    Fills ``out`` (T, B, H), ``gates`` (T, B, 3H) and ``hn`` (T, B, H).
    """
    T, B, G = gi.shape
    H = G // 3
    gh = np.empty((B, G), gi.dtype)
    for s in range(T):
        t = T - 1 - s if reverse else s
        product(recurrent, h, gh, False)  # h W_hh^T, (B, 3H)
        for b in range(B):
            if t < lengths[b]:
                x, y, g = gi[t, b], gh[b], gates[t, b]
                forward_row(
                    x[:H], x[H : 2 * H], x[2 * H :], y[:H], y[H : 2 * H], y[2 * H :], b_hn,
                    h[b], g[:H], g[H : 2 * H], g[2 * H :], hn[t, b], out[t, b],
                )  # fmt: skip
            else:
                gates[t, b] = 0.0
                hn[t, b] = 0.0
                out[t, b] = 0.0


@njit(cache=True)
def backward_row(g_in, dout, r, z, n, hn, h_prev, da_n, da_r, da_z, dhn):
    """One row of one step: the gradients of its pre-activations from g = dh + dy, and
    dh_{t-1} without its product, ``g z``, into ``g_in`` (1-D contiguous slices, so that the
    loop vectorises)."""
    one = g_in.dtype.type(1)
    for i in range(g_in.shape[0]):
        g = g_in[i] + dout[i]
        a_n = g * (one - z[i]) * (one - n[i] * n[i])
        da_z[i] = g * (h_prev[i] - n[i]) * z[i] * (one - z[i])
        da_r[i] = a_n * hn[i] * r[i] * (one - r[i])
        da_n[i] = a_n
        dhn[i] = a_n * r[i]
        g_in[i] = g * z[i]


@njit(cache=True)
def backward_loop(dout, dh, gates, hn, out, h0, recurrent, lengths, reverse, da_n, dgh):
    """Backward through time; ``dh`` (B, H) holds dh_final on entry and dh0 on return.

    Fills ``dgh`` (T, B, 3H) and ``da_n`` (T, B, H), 0 at padded steps, where ``dh`` passes
    through; ``dgi`` is ``dgh`` with ``da_n`` for its n part. The state before step t is the
    output of the step before it (``out``), or ``h0`` at a row's first step.
    """
    T, B, H = dout.shape
    for s in range(T):
        t = s if reverse else T - 1 - s
        for b in range(B):
            if t < lengths[b]:
                if reverse:
                    h_prev = out[t + 1, b] if t + 1 < lengths[b] else h0[b]
                else:
                    h_prev = out[t - 1, b] if t > 0 else h0[b]
                gate, grad = gates[t, b], dgh[t, b]
                backward_row(
                    dh[b], dout[t, b], gate[:H], gate[H : 2 * H], gate[2 * H :], hn[t, b],
                    h_prev, da_n[t, b], grad[:H], grad[H : 2 * H], grad[2 * H :],
                )  # fmt: skip
            else:
                da_n[t, b] = 0.0
                dgh[t, b] = 0.0
        product(recurrent, dgh[t], dh, True)  # dgh W_hh; a padded row's dgh is 0: dh passes


# -- the torch driver -------------------------------------------------------------------------


def forward(gi, w_hh, b_hn, h0, lengths, reverse: bool, compiled: bool):
    """Run the loop. Returns out (T, B, H), gates (T, B, 3H), hn (T, B, H) and the final
    state (B, H). The state before each step is not kept: it is the previous output.

    ``gi`` (T, B, 3H), ``w_hh`` (3H, H), ``b_hn`` (H,) and ``h0`` (B, H) are torch tensors on
    the CPU, ``gi`` contiguous; ``lengths`` an int64 array (B,).
    """
    T, B, G = gi.shape
    H = G // 3
    out = gi.new_empty((T, B, H))
    gates = torch.empty_like(gi)
    if compiled:
        hn = torch.empty_like(out)
        h = h0.clone(memory_format=torch.contiguous_format)
        forward_loop(
            gi.numpy(), weight_operand(w_hh.t(), B, "gru.forward"), b_hn.contiguous().numpy(),
            h.numpy(), lengths, reverse, out.numpy(), gates.numpy(), hn.numpy(),
        )  # fmt: skip
        return out, gates, hn, h

    w_hh_t = w_hh.t()
    bh = torch.cat([b_hn.new_zeros(2 * H), b_hn])  # only n keeps its recurrent bias in the loop
    # h W_hh^T + [0, 0, b_hn] of one step, in a scratch reused by every step: a fresh
    # (T, B, 3H) buffer would be written page by page for the first time, and on a 2-core
    # machine the page faults cost as much as the product.
    gh = gi.new_empty((B, G))
    gh_rz, gh_n = gh[:, : 2 * H], gh[:, 2 * H :]
    hn = torch.empty_like(out)  # gh_n of every step, kept for the backward pass
    # Per-step views, made once: indexing inside the loop would cost a call per step each.
    gi_rz, gi_n = gi[..., : 2 * H].unbind(0), gi[..., 2 * H :].unbind(0)
    hn_steps = hn.unbind(0)
    rz = gates[..., : 2 * H].unbind(0)
    r, z, n = (gates[..., k * H : (k + 1) * H].unbind(0) for k in range(3))
    out_steps = out.unbind(0)
    order = range(T - 1, -1, -1) if reverse else range(T)
    masks = step_masks(lengths, T)

    def step(t, h):
        """Gates of step t into ``gates``, the new state (unmasked) into ``out``."""
        torch.addmm(bh, h, w_hh_t, out=gh)
        torch.add(gi_rz[t], gh_rz, out=rz[t]).sigmoid_()
        hn_steps[t].copy_(gh_n)
        torch.addcmul(gi_n[t], r[t], gh_n, out=n[t]).tanh_()
        return torch.lerp(n[t], h, z[t], out=out_steps[t])  # n + z (h - n)

    if masks is None:  # every row active: seven torch calls per step
        h = h0
        for t in order:
            h = step(t, h)
        return out, gates, hn, h.clone()

    mask_steps = masks.unbind(0)
    h = h0
    for t in order:
        h = torch.where(mask_steps[t], step(t, h), h)  # a padded row holds its state
    out.mul_(masks)
    gates.mul_(masks)
    return out, gates, hn, h


def backward(dout, dh_final, gates, hn, out, h0, w_hh, lengths, reverse: bool, compiled: bool):
    """Backward through time. Returns da_n (T, B, H) and dgh (T, B, 3H), the gradients of the
    recurrent projections at every step and of the n part of the input projections (those of
    its r and z parts equal the recurrent ones), and dh0 (B, H); ``dout`` (T, B, H)
    contiguous. ``out`` and ``h0`` give the state before every step."""
    T, B, H = dout.shape
    dgh = scratch("gru.dgh", gates.shape, gates)
    dh = dh_final.clone(memory_format=torch.contiguous_format)
    if compiled:
        da_n = scratch("gru.da_n", dout.shape, dout)
        backward_loop(
            dout.numpy(), dh.numpy(), gates.contiguous().numpy(), hn.contiguous().numpy(),
            out.numpy(), h0.contiguous().numpy(), weight_operand(w_hh, B, "gru.backward"),
            lengths, reverse, da_n.numpy(), dgh.numpy(),
        )  # fmt: skip
        return da_n, dgh, dh

    masks = step_masks(lengths, T)
    h_prev = previous_states(out, h0, masks, reverse)
    r, z, n = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H :]
    # Every gradient of step t is g_t = dy_t + dh_t times a coefficient of the forward pass.
    a_n = (1 - z) * (1 - n * n)  # da_n / g
    a_z = (h_prev - n) * z * (1 - z)  # da_z / g
    coef_gh = torch.cat([a_n * hn * r * (1 - r), a_z, a_n * r], dim=-1)  # dgh / g
    carry = z  # dh_{t-1} = g z + dgh W_hh
    if masks is not None:  # padded steps: no gradient into the step, dh passes through
        dout = dout * masks
        a_n = a_n * masks
        coef_gh *= masks  # already 0 there, as the gates are; kept for clarity
        carry = z + ~masks
    g_all = torch.empty_like(dout)
    g_steps, g_col = g_all.unbind(0), g_all[:, :, None, :].unbind(0)
    dout_steps, carry_steps = dout.unbind(0), carry.unbind(0)
    coef_steps = coef_gh.view(T, B, 3, H).unbind(0)
    dgh_steps, dgh_col = dgh.unbind(0), dgh.view(T, B, 3, H).unbind(0)
    for t in range(T) if reverse else range(T - 1, -1, -1):
        g = torch.add(dh, dout_steps[t], out=g_steps[t])
        torch.mul(g_col[t], coef_steps[t], out=dgh_col[t])
        dh = torch.addmm(g * carry_steps[t], dgh_steps[t], w_hh)
    return g_all.mul_(a_n), dgh, dh


class GRUFunction(torch.autograd.Function):
    """One GRU layer and direction on the fast path.

    ``GRUFunction.apply(x, h0, w_ih, w_hh, b_ih, b_hh, lengths, reverse, compiled)``: x (B, T,
    I), h0 (B, H), w_ih (3H, I), w_hh (3H, H), b_ih and b_hh (3H,) or both None, lengths an
    int64 array (B,) in [1, T], reverse a bool, compiled a bool (the numba loop, else the torch
    loop) or a pair of them (forward pass, backward pass). Returns ``(outputs, h_final,
    gates)``: outputs (B, T, H), the final state (B, H) and the activated gates r, z, n (B, T,
    3, H); 0 at padded steps. GEMMs outside the loop, the loop compiled. ``reference``: the same
    direction as a function of the tensor arguments, returning ``(outputs, h_final, gates)``,
    for gradients with a graph and through the gates (:mod:`rnnlab.kernels.second_order`).
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, lengths, reverse, compiled, reference=None):
        inputs = second_order.keep(ctx, "GRUFunction", reference, (x, h0, w_ih, w_hh, b_ih, b_hh))
        compiled, backward_compiled = as_loops(compiled)
        B, T, I = x.shape
        H = w_hh.shape[1]
        xt = x.detach().transpose(0, 1).contiguous()  # (T, B, I)
        w_ih, w_hh = w_ih.detach(), w_hh.detach()
        gi = scratch("gru.gi", (T * B, 3 * H), xt)  # all input projections in one GEMM
        if b_ih is None:
            torch.mm(xt.view(T * B, I), w_ih.t(), out=gi)
            b_hn = w_hh.new_zeros(H)
        else:
            b_ih, b_hh = b_ih.detach(), b_hh.detach()
            folded = b_ih + torch.cat([b_hh[: 2 * H], b_hh.new_zeros(H)])
            torch.addmm(folded, xt.view(T * B, I), w_ih.t(), out=gi)
            b_hn = b_hh[2 * H :]
        gi = gi.view(T, B, 3 * H)
        h0 = h0.detach()
        out, gates, hn, h = forward(gi, w_hh, b_hn, h0, lengths, reverse, compiled)
        ctx.save_for_backward(xt, gates, hn, out, h0, w_ih, w_hh, *inputs)
        ctx.options = (lengths, reverse, backward_compiled, b_ih is not None)
        gates_out = gates.view(T, B, 3, H).transpose(0, 1)
        ctx.set_materialize_grads(False)  # no zero-filled (B, T, 3, H) gradient for the gates
        return out.transpose(0, 1), h, gates_out

    @staticmethod
    def backward(ctx, d_outputs, d_final, d_gates):
        if second_order.needs_reference(ctx, (d_gates,)):
            return second_order.reference_gradients(ctx, (d_outputs, d_final, d_gates))
        xt, gates, hn, out, h0, w_ih, w_hh = ctx.saved_tensors[:7]
        lengths, reverse, compiled, has_bias = ctx.options
        T, B, I = xt.shape
        need = ctx.needs_input_grad
        dout = scratch("gru.dout", hn.shape, hn)  # (T, B, H); None: an output was not used
        if d_outputs is None:
            dout.zero_()
        else:
            dout.copy_(d_outputs.transpose(0, 1))
        d_final = hn.new_zeros(hn.shape[1:]) if d_final is None else d_final
        da_n, dgh, dh0 = backward(
            dout, d_final, gates, hn, out, h0, w_hh, lengths, reverse, compiled
        )
        # The weight gradients are GEMMs; dgi = [dgh_r, dgh_z, da_n] is never built.
        H = da_n.shape[-1]
        dgh2, da_n2, x2 = dgh.view(T * B, -1), da_n.view(T * B, H), xt.view(T * B, I)
        dgh_rz = dgh2[:, : 2 * H]
        dx = dw_ih = db_ih = db_hh = None
        if need[0]:
            dx = torch.addmm(da_n2 @ w_ih[2 * H :], dgh_rz, w_ih[: 2 * H])
            dx = dx.view(T, B, I).transpose(0, 1)
        if need[2]:
            dw_ih = torch.cat([dgh_rz.t() @ x2, da_n2.t() @ x2])
        dw_hh = product_with_previous(dgh, out, h0, lengths, reverse) if need[3] else None
        if has_bias and (need[4] or need[5]):
            db_hh = dgh2.sum(0)
            db_ih = torch.cat([db_hh[: 2 * H], da_n2.sum(0)])
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None, None, None, None
