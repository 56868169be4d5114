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
2000 steps of a ≈ 1/2. :func:`log_space_scan` therefore scans chunks of
:data:`CHUNK_SIZE` steps, all chunks at once (each from a zero state), and then carries the
state across the chunk boundaries with a loop of T / CHUNK_SIZE elementwise steps of
(B, H): the cancellation stays within a chunk, and no term over- or underflows into a NaN even
for a_t as small as e^-30 (exp(a*) underflows to 0, which is the right product).

Heinsen, F. A. (2023). Efficient parallelization of a ubiquitous sequential computation.
arXiv:2311.06281 (``glassroom/heinsen_sequence``).
"""

from collections.abc import Callable, Mapping

import numpy as np
import torch

CHUNK_SIZE = 256
"""Steps scanned in log space together; the state crosses chunk boundaries linearly."""

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
    B, T, H = log_a.shape
    C = min(chunk_size, T)
    n = -(-T // C)  # chunks
    pad = n * C - T
    if pad:  # neutral steps at the end (a = b = 1), cut off below; causal, so harmless
        log_a = torch.cat([log_a, log_a.new_zeros(B, pad, H)], dim=1)
        log_b = torch.cat([log_b, log_b.new_zeros(B, pad, H)], dim=1)
    log_a = log_a.reshape(B, n, C, H)
    log_b = log_b.reshape(B, n, C, H)
    a_star = log_a.cumsum(dim=2)  # (B, n, C, H): log of the product of a within the chunk
    within = torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=2))  # from zero states
    decay = torch.exp(a_star)  # how much of a chunk's starting state survives to each step
    # The states at the chunk starts, one elementwise step per chunk: s_k = D_k s_{k-1} + W_k.
    starts, s = [h0], h0
    for k in range(n - 1):
        s = decay[:, k, -1] * s + within[:, k, -1]
        starts.append(s)
    h = within + decay * torch.stack(starts, dim=1)[:, :, None]  # (B, n, C, H)
    return h.reshape(B, n * C, H)[:, :T]


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
    log_a, log_b, gates = coefficients(x, p, options, record)
    h = log_space_scan(log_a, log_b, h0)  # (B, T, H)
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
