r"""The first-order linear recurrence ``h_t = a_t h_{t-1} + b_t`` over a whole sequence: the
sequential loop (the reference) and the log-space parallel scan of Heinsen (2023) (the fast
path of the minGRU and minLSTM layers, registered in :data:`rnnlab.layers.KERNELS`).

With ``a_t > 0`` and ``b_t > 0`` given as logarithms, and ``a*_t = sum_{s<=t} log a_s``::

    h_t = exp(a*_t) h_0 + exp(a*_t + logcumsumexp_t(log b_t - a*_t))

The first term carries the initial state linearly, so ``h_0`` may have any sign (the
official code prepends ``log h_0`` to ``log b`` instead, which needs ``h_0 > 0``). Both terms
are torch operations, so autograd gives gradients to every order.

Precision. ``a*_t`` and the ``logcumsumexp`` grow like ``t * |log a|`` and cancel in the sum,
so one global scan loses ``eps * |a*_t|`` of relative precision: about 1e-4 in float32 after
2000 steps of a ≈ 1/2. :func:`log_space_scan` therefore scans chunks of at most
:data:`CHUNK_SIZE` steps (:func:`heinsen_chunk`, every step of a chunk at once) and carries
the state from one chunk to the next through the linear term: the cancellation stays within a
chunk, and no term over- or underflows into a NaN even for a_t as small as e^-30 (exp(a*)
underflows to 0, which is the right product). The layers' :func:`scan_direction` computes the
family's coefficients chunk by chunk as well (:data:`CHUNK_ELEMENTS`).

Heinsen, F. A. (2023). Efficient parallelization of a ubiquitous sequential computation.
arXiv:2311.06281 (``glassroom/heinsen_sequence``).
"""

from collections.abc import Callable, Mapping

import numpy as np
import torch

CHUNK_SIZE = 256
"""Steps scanned in log space together at most; the state crosses chunk boundaries linearly."""
BLOCK_SIZE = 16
"""Steps scanned at once from a zero state inside a chunk; a loop carries the state across."""
CHUNK_ELEMENTS = 2**19
"""Elements of a chunk's (B, C, H) tensors at most (2 MiB in float32): a whole-sequence
tensor of 32 MiB or more is a fresh mapping of memory on glibc at every call (its largest
``mmap`` threshold), whose page faults cost more than the arithmetic on it."""

SHIFT_SPAN = {torch.float16: 8.0, torch.bfloat16: 60.0, torch.float32: 60.0, torch.float64: 600.0}
"""Below this span of log b - a* within every block of a chunk, :func:`heinsen_chunk` sums
exp(u - max u) directly: e^-60 and e^-600 are far from float32's and float64's smallest
normal numbers."""

Coefficients = Callable[..., tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]]


def sequential_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """The reference: ``h_t = a_t h_{t-1} + b_t`` as a loop over t. a, b (B, T, H), h0 (B, H)
    -> h (B, T, H)."""
    h, states = h0, []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        states.append(h)
    return torch.stack(states, dim=1)


def log_space_scan(
    log_a: torch.Tensor, log_b: torch.Tensor, h0: torch.Tensor, chunk_size: int = CHUNK_SIZE
) -> torch.Tensor:
    """``h_t = a_t h_{t-1} + b_t`` from ``log a`` and ``log b`` (B, T, H) and h0 (B, H) of
    any sign: h (B, T, H), by the chunked Heinsen scan of the module docstring."""
    h, states = h0, []
    for log_a_c, log_b_c in zip(log_a.split(chunk_size, 1), log_b.split(chunk_size, 1)):
        states.append(heinsen_chunk(log_a_c, log_b_c, h))
        h = states[-1][:, -1]
    return torch.cat(states, dim=1)


def heinsen_chunk(log_a: torch.Tensor, log_b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """One chunk of the scan: log a, log b (B, C, H), h0 (B, H) -> h (B, C, H).

    The chunk's steps are cut into blocks of :data:`BLOCK_SIZE`, all scanned at once from zero
    states by Heinsen's formula, ``exp(a* + logcumsumexp(log b - a*))`` with a* the cumsum of
    log a within the block; then a loop over the blocks carries the state from one block to
    the next, ``h = within + exp(a*) * start``.

    The logcumsumexp of u = log b - a* is evaluated as ``m + log cumsum exp(u - m)``, m the
    block's max of u, wherever u spans less than :data:`SHIFT_SPAN` of the dtype within every
    block of the chunk (no term of the cumsum can underflow, and positive terms add without
    cancellation): the same expression, at a fraction of the cost of torch.logcumsumexp on
    the CPU. Where some block spans more (gates near 0 or 1: a_t down to e^-30) the chunk's
    blocks run the recurrence itself in linear space, all blocks at once, one of their
    BLOCK_SIZE steps at a time: exact and stable there (a <= 1), where exp(u - m) would
    underflow. torch.logcumsumexp is not used: its second derivative is NaN wherever an
    incoming gradient is exactly 0 (a masked or cut-off step), measured with torch 2.13.
    """
    B, C, H = log_a.shape
    S = min(BLOCK_SIZE, C)
    n = -(-C // S)  # blocks
    pad = n * S - C
    if pad:  # neutral steps at the end (a = b = 1), cut off below; causal, so harmless
        log_a = torch.cat([log_a, log_a.new_zeros(B, pad, H)], dim=1)
        log_b = torch.cat([log_b, log_b.new_zeros(B, pad, H)], dim=1)
    log_a, log_b = log_a.view(B, n, S, H), log_b.view(B, n, S, H)
    a_star = log_a.cumsum(dim=2)  # log of the product of a up to each step of its block
    u = log_b - a_star
    top = u.amax(dim=2, keepdim=True)  # (B, n, 1, H)
    if bool((top - u.amin(dim=2, keepdim=True) < SHIFT_SPAN[u.dtype]).all()):
        within = torch.exp(a_star + top) * torch.exp(u - top).cumsum(dim=2)
    else:  # the recurrence itself, every block at once, a step of the blocks at a time
        a, b = log_a.exp().unbind(2), log_b.exp().unbind(2)  # S steps of (B, n, H)
        steps = [b[0]]
        for a_t, b_t in zip(a[1:], b[1:]):
            steps.append(a_t * steps[-1] + b_t)
        within = torch.stack(steps, dim=2)
    decay = torch.exp(a_star)  # how much of a block's starting state survives to each step
    # The state at each block's start: s_k = decay_k s_{k-1} + within_k at the block's end.
    starts, state = [h0], h0
    ends = zip(decay[:, :, -1].unbind(1), within[:, :, -1].unbind(1))
    for _, (decay_k, within_k) in zip(range(n - 1), ends):
        state = decay_k * state + within_k
        starts.append(state)
    h = within + decay * torch.stack(starts, dim=1).unsqueeze(2)  # (B, n, S, H)
    return h.view(B, n * S, H)[:, :C]


def chunk_steps(batch_size: int, width: int) -> int:
    """Steps per chunk: :data:`CHUNK_SIZE`, fewer where a chunk of (B, C, width) would pass
    :data:`CHUNK_ELEMENTS` (so that a chunk's intermediates stay small), and at least one
    block, :data:`BLOCK_SIZE`."""
    return max(BLOCK_SIZE, min(CHUNK_SIZE, CHUNK_ELEMENTS // max(1, batch_size * width)))


def _flip_within(tensor: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
    """Reverse each row's valid steps (``index`` from :func:`_reversal`), or all of T."""
    if index is None:
        return tensor.flip(1)
    return tensor.gather(1, index.view(*index.shape, *([1] * (tensor.dim() - 2))).expand_as(tensor))


def _reversal(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) time indices that reverse t < L_b (L_b - 1 - t) and keep the padding in place."""
    t = torch.arange(T, device=lengths.device)[None, :]
    return torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)


def scan_direction(
    coefficients: Coefficients,
    x: torch.Tensor,
    h0: torch.Tensor,
    lengths: np.ndarray,
    p: Mapping[str, torch.Tensor | None],
    options: Mapping,
    reverse: bool,
    record: bool,
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
    """One layer and direction of a scan family, as the layer's reference unroll returns it.

    ``coefficients(x, p, options, record) -> (log a, log b, gate items)`` gives the family's
    scan coefficients (B, T, H) and, with ``record``, its gates (B, T, ...); x (B, T, I), h0
    (B, H), ``lengths`` an int64 array (B,). Returns ``outputs`` (B, T, H), zero at
    ``t >= lengths[b]``, the final state (B, H) (the state after each row's last step in its
    direction) and the trace items ``(hidden, *gates)``, zero at padded steps.

    The reverse direction reverses each row's valid steps, scans forwards and reverses back;
    the padding stays where it is and is zeroed, so no padded step reaches a valid one.
    """
    B, T, _ = x.shape
    full = bool((lengths == T).all())
    lengths_t = torch.from_numpy(lengths).to(x.device)
    index = None if full else _reversal(lengths_t, T)
    if reverse:
        x = _flip_within(x, index)
    # The family's coefficients and the scan chunk by chunk of time, so that no intermediate
    # is a whole-sequence tensor (CHUNK_ELEMENTS); only the outputs are put together.
    states, gate_chunks, h = [], [], h0
    for x_c in x.split(chunk_steps(B, h0.shape[-1]), dim=1):
        log_a, log_b, gates = coefficients(x_c, p, options, record)
        states.append(heinsen_chunk(log_a, log_b, h))
        gate_chunks.append(gates)
        h = states[-1][:, -1]
    h = torch.cat(states, dim=1)  # (B, T, H)
    gates = tuple(torch.cat(column, dim=1) for column in zip(*gate_chunks))
    if full:
        final = h[:, -1]
    else:
        final = h.gather(1, (lengths_t - 1).view(B, 1, 1).expand(B, 1, h.shape[-1]))[:, 0]
        valid = torch.arange(T, device=x.device)[None, :] < lengths_t[:, None]  # (B, T)
        h = torch.where(valid[:, :, None], h, torch.zeros((), dtype=h.dtype, device=h.device))
        gates = tuple(
            torch.where(valid.view(B, T, *([1] * (g.dim() - 2))), g, torch.zeros_like(g))
            for g in gates
        )
    if reverse:
        h = _flip_within(h, index)
        gates = tuple(_flip_within(g, index) for g in gates)
    return h, (final,), (h, *gates) if record else ()
