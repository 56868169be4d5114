"""Scratch buffers that outlive a call, so that the next call writes to pages already mapped.

A kernel's large intermediates (the input projections of all steps, the gradients of every
step's gates) live for one forward or one backward pass. Allocated fresh each time, they come
back from the operating system as new pages, and on the 2-core development machine the first
write to a page costs about three times the write itself: for a GRU at B = 64, H = 256 the page
faults of one training step took as long as a sixth of it. :func:`scratch` keeps one buffer per
name and thread and hands the same memory back on the next call.

Only for tensors that stay inside one pass: never returned, never saved for backward, never
aliased by anything that is. Buffers larger than :data:`MAX_BYTES` are not kept.
"""

import math
import threading

import torch

MAX_BYTES = 64 * 2**20  # per buffer; a handful of names per kernel, one set per thread

_local = threading.local()


def scratch(name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """An uninitialised tensor of ``shape`` with ``like``'s dtype and device, reused by the
    next call with the same ``name`` on this thread; its contents do not survive."""
    numel = math.prod(shape)
    if numel * like.element_size() > MAX_BYTES or like.device.type != "cpu":
        return like.new_empty(shape)
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    held = buffers.get(name)
    if held is None or held.dtype != like.dtype or held.numel() < numel:
        held = buffers[name] = like.new_empty(numel)
    return held[:numel].view(shape)
