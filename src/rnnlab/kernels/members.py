"""What the member kernels share (:mod:`rnnlab.kernels.gru_members`,
:mod:`rnnlab.kernels.lstm_members`): the GEMMs before and after their loops.

Inside those kernels every array of N members is member-first and then time-major, (N, T, B,
...): one step of all members, ``a[:, t]``, is N matrices a batched product takes as they are,
and the products over all steps after the loop are batched products of (N, T B, ...) views,
with no copy.
"""

import numba
import numpy as np
import torch

from rnnlab.kernels.common import previous_states, step_masks


def match_torch_threads() -> None:
    """Give numba's parallel loops (the member kernels' rows, ``prange``) as many threads as
    torch has, in this thread, before a loop calls them.

    numba keeps a pool of its own, as many threads as the machine's cores, whatever
    ``torch.set_num_threads`` says. Two study workers of one torch thread each
    (:mod:`rnnlab.train.workers`) then ran four spinning threads on two cores: the GRU member
    kernel at N = 5, H = 50, B = 6, T = 64 took 29-32 ms a forward and backward pass, against
    19-21 ms with numba's threads matched to torch's and 19 ms for the five networks one by
    one (two such processes at once, nothing else running)."""
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


def input_projections(x, w_ih):
    """``x W_ih^T`` of every step and member, (N, T, B, G), and x time-major as the weight
    gradients need it: (T B, I) when x (B, T, I) is shared, else (N, T B, I)."""
    N, G, I = w_ih.shape
    B, T = x.shape[-3], x.shape[-2]
    if x.dim() == 3:
        xt = x.transpose(0, 1).reshape(T * B, I)
    else:
        xt = x.transpose(1, 2).reshape(N, T * B, I)
    return torch.matmul(xt, w_ih.transpose(1, 2)).view(N, T, B, G), xt


def input_gradients(dgi, xt, w_ih, shared: bool):
    """dx ((B, T, I) shared, else (N, B, T, I)) and dW_ih (N, G, I) from dgi (N, T, B, G)."""
    N, T, B, G = dgi.shape
    I = w_ih.shape[2]
    flat = dgi.reshape(N, T * B, G)  # a view where the last dimension is whole, else a copy
    dx = torch.bmm(flat, w_ih).view(N, T, B, I)
    dx = dx.sum(0).transpose(0, 1) if shared else dx.transpose(1, 2)
    return dx, torch.matmul(flat.transpose(1, 2), xt)


def states_before(after, first, lengths: np.ndarray, reverse: bool):
    """The state before every step, (N, T, B, H) contiguous: :func:`rnnlab.kernels.common.
    previous_states` with the members as one more leading dimension, from ``after`` (N, T, B,
    H), the state after every step with 0 at padded steps, and ``first`` (N, B, H)."""
    masks = step_masks(lengths, after.shape[1])  # (T, B, 1), shared by the members, or None
    before = previous_states(
        after.transpose(0, 1), first, None if masks is None else masks[:, None], reverse
    )  # (T, N, B, H)
    return before.transpose(0, 1).contiguous()


def recurrent_gradient(dg, after, first, lengths: np.ndarray, reverse: bool):
    """dW_hh (N, G, H) = sum over steps of dg_t^T s_t, s_t the state before step t: dg (N, T,
    B, G), 0 at padded steps; ``after`` and ``first`` as :func:`states_before` takes them."""
    N, T, B, G = dg.shape
    before = states_before(after, first, lengths, reverse)
    return torch.bmm(dg.view(N, T * B, G).transpose(1, 2), before.view(N, T * B, -1))


def output_gradient(d_outputs, out):
    """The outputs' gradient as the loops read it, (N, T, B, H) contiguous, from ``d_outputs``
    (N, B, T, H); zeros where the outputs were not used (None). ``out`` (N, T, B, H)."""
    if d_outputs is None:
        return out.new_zeros(out.shape)
    return d_outputs.transpose(1, 2).contiguous()


def state_gradient(d_state, like):
    """A final state part's gradient (N, B, H) as a fresh contiguous copy that a loop carries
    back in place; zeros where the state was not used (None)."""
    if d_state is None:
        return like.new_zeros(like.shape)
    return d_state.clone(memory_format=torch.contiguous_format)
