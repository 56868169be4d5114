"""What the kernels share: activation codes and their compiled forms, step masks, the carry.

Compiled (numba) functions take an activation as an int code, since they cannot take Python
functions as cheaply; :data:`ACTIVATION_CODES` maps the names of :mod:`rnnlab.cells` to codes.
"""

import numpy as np
import torch
from numba import njit

from rnnlab.kernels import vmath
from rnnlab.kernels.blas import product

TANH, RELU, SIGMOID, IDENTITY = 0, 1, 2, 3
ACTIVATION_CODES = {"tanh": TANH, "relu": RELU, "sigmoid": SIGMOID, "identity": IDENTITY}
IN_PLACE_ACTIVATIONS = {TANH: torch.tanh_, RELU: torch.relu_, SIGMOID: torch.sigmoid_,
                        IDENTITY: lambda a: a}  # fmt: skip


@njit(cache=True)
def activate(a, code):
    """The unit nonlinearity ``code`` at ``a`` (tanh and sigmoid from :mod:`vmath`)."""
    if code == TANH:
        return vmath.tanh_of(a)
    if code == RELU:
        return a if a > 0 else 0.0 * a
    if code == SIGMOID:
        return vmath.sigmoid_of(a)
    return a


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def activate_into(a, out, code):
    """out[i] = f(a[i]) for 1-D arrays, one loop per nonlinearity so that each vectorises."""
    if code == TANH:
        for i in range(a.shape[0]):
            out[i] = vmath.tanh_of(a[i])
    elif code == SIGMOID:
        for i in range(a.shape[0]):
            out[i] = vmath.sigmoid_of(a[i])
    elif code == RELU:
        for i in range(a.shape[0]):
            out[i] = a[i] if a[i] > 0 else 0.0 * a[i]
    else:
        out[:] = a


@njit(cache=True)
def slope(v, code):
    """The derivative of the nonlinearity ``code``, from its output ``v = f(a)``."""
    if code == TANH:
        return 1.0 - v * v
    if code == RELU:
        return 1.0 if v > 0 else 0.0
    if code == SIGMOID:
        return v * (1.0 - v)
    return 1.0


@njit(cache=True)
def carry_back(dh, da_t, recurrent, t, lengths):
    """dh_{t-1} = da_t W_hh for the rows active at t; the others pass dh through unchanged.

    ``da_t`` must be 0 in the rows not active at t (the gradient steps make it so).
    """
    for b in range(dh.shape[0]):
        if t < lengths[b]:
            dh[b] = 0.0
    product(recurrent, da_t, dh, True)


def previous_states(seq, first, masks, reverse: bool):
    """The state before every step, (T, B, H), right at every valid step (arbitrary but finite
    at padded ones), from ``seq`` (T, B, H), the state after every step with 0 at padded
    steps, and ``first`` (B, H), the initial state."""
    if not reverse:  # a row active at t >= 1 was active at t - 1
        return torch.cat([first[None], seq[:-1]])
    shifted = torch.cat([seq[1:], first[None]])
    if masks is None:
        return shifted
    # A row whose step t + 1 is padding starts at t, from ``first``.
    next_active = torch.cat([masks[1:], torch.zeros_like(masks[:1])])
    return torch.where(next_active, shifted, first)


def product_with_previous(da, seq, first, lengths, reverse: bool) -> torch.Tensor:
    """sum over steps t of da_t^T s_t, s_t the state before step t, without building s.

    ``seq`` (T, B, H) holds the state after every step, 0 at padded steps, and ``first``
    (B, H) the initial one; ``da`` (T, B, G) is 0 at padded steps. Before step t comes
    ``seq[t - 1]`` (``seq[t + 1]`` in reverse), or ``first`` at a row's first step: t = 0, or
    in reverse t = lengths[b] - 1, where ``seq[t + 1]`` is padding, 0, and adds nothing.
    Returns (G, H).
    """
    T, B, G = da.shape
    total = first.new_zeros((G, first.shape[1]))
    if T > 1:
        inner, before = (da[:-1], seq[1:]) if reverse else (da[1:], seq[:-1])
        total.addmm_(inner.reshape(-1, G).t(), before.reshape(-1, before.shape[-1]))
    # Each row's first step: 0, or in reverse its last valid one. (B, G)
    starts = da[torch.from_numpy(lengths - 1), torch.arange(B)] if reverse else da[0]
    return total.addmm_(starts.t(), first)


def derivative(out: torch.Tensor, code: int) -> torch.Tensor:
    """f'(a) of every step at once, from the activations ``out = f(a)``; a new tensor."""
    if code == TANH:
        return 1 - out * out
    if code == SIGMOID:
        return out * (1 - out)
    if code == RELU:
        return (out > 0).to(out.dtype)
    return torch.ones_like(out)


def step_masks(lengths: np.ndarray, T: int) -> torch.Tensor | None:
    """(T, B, 1) booleans, True where row b is active at step t; None if every row is."""
    if (lengths == T).all():
        return None
    return (torch.arange(T)[:, None] < torch.from_numpy(lengths)[None, :])[..., None]
