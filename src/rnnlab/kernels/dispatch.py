"""Which path runs a layer: the readable reference unroll or the fast kernels.

``path`` is an argument of every layer (``rnnlab.GRU(..., path="fast")``); when it is None the
environment variable ``RNNLAB_PATH`` decides, and without it ``"auto"``:

- ``"reference"``: the Python loop of :mod:`rnnlab.layers`, the oracle.
- ``"fast"``: the kernels of this package; an error says why if they cannot serve the call.
- ``"auto"``: the kernels when they can serve the call, the reference otherwise (a CUDA
  tensor, say, or a dtype other than float32 and float64).

Inside the fast path each pass runs either as a compiled (numba) loop or as a Python loop of
torch calls. The compiled forward loop wins wherever per-step overhead matters (its products run
on torch's BLAS, :mod:`rnnlab.kernels.blas`; its exp and tanh vectorise,
:mod:`rnnlab.kernels.vmath`); at the largest sizes the two tie or torch's loop wins, and
:func:`use_compiled_loop` draws the line per cell family, measured with ``bench/layers.py``. The
backward loops need no exp or tanh (the forward pass left them behind), so they run compiled at
every size wherever their products can run on torch's BLAS; :func:`choose_loops` decides both.
"""

import os

import torch

from rnnlab.kernels.blas import gemm_address

PATHS = ("auto", "fast", "reference")

# Elementwise work per step (B * gates * H units) up to which the compiled forward loop was
# faster than the loop of torch calls on the 2-core development machine, by number of gates
# (1: Elman and Jordan, 3: GRU, 4: LSTM); measured with bench/layers.py and a grid of B and H.
# The GRU's and LSTM's compiled steps were not slower up to the largest sizes measured
# (B * gates * H = 131072: B = 64, H = 512 and B = 32, H = 1024).
COMPILED_LOOP_MAX_WORK = {1: 2048, 3: 131072, 4: 131072}
# B * 4H from which our LSTM kernel beat oneDNN's (torch.lstm) for a plain LSTM: from 0.95 of
# its time at B = 64, H = 512 to 0.89 at B = 32, H = 1024; below, oneDNN was as fast or faster
# (equal at B = 64, H = 256; up to 1.4 times faster at B = 1 to 32, H = 150).
FUSED_LSTM_MAX_WORK = 131072


def check_path(path: object) -> str | None:
    """``path`` if it is None or one of :data:`PATHS`, else a ValueError."""
    if path is not None and path not in PATHS:
        raise ValueError(f"path must be one of {', '.join(map(repr, PATHS))} or None; got {path!r}")
    return path


def resolve_path(path: str | None) -> str:
    """The path to use: the argument, else ``RNNLAB_PATH``, else ``"auto"``."""
    if path is not None:
        return path
    value = os.environ.get("RNNLAB_PATH", "auto")
    if value not in PATHS:
        raise ValueError(f"RNNLAB_PATH must be one of {', '.join(PATHS)}; got {value!r}")
    return value


def fast_path_problem(x: torch.Tensor) -> str | None:
    """Why the fast kernels cannot run on ``x``, or None if they can."""
    if x.device.type != "cpu":
        return f"the fast kernels run on the CPU; x is on {x.device}"
    if x.dtype not in (torch.float32, torch.float64):
        return f"the fast kernels support float32 and float64; x is {x.dtype}"
    return None


def use_compiled_loop(batch_size: int, hidden_size: int, gates: int) -> bool:
    """True where the compiled loop beats a torch GEMM per step."""
    return batch_size * gates * hidden_size <= COMPILED_LOOP_MAX_WORK[gates]


def use_fused_lstm(batch_size: int, hidden_size: int) -> bool:
    """True where a plain LSTM should run torch's fused kernel rather than ours."""
    return batch_size * 4 * hidden_size < FUSED_LSTM_MAX_WORK


def choose_loops(batch_size: int, hidden_size: int, gates: int, dtype) -> tuple[bool, bool]:
    """(forward, backward): whether each loop runs compiled, else as a loop of torch calls."""
    return loops_for(use_compiled_loop(batch_size, hidden_size, gates), dtype)


def loops_for(forward: bool, dtype) -> tuple[bool, bool]:
    """(forward, backward) for a forward loop chosen compiled or not: the backward runs
    compiled with it, and also after a torch loop wherever its products can run on torch's
    BLAS."""
    return forward, forward or gemm_address(dtype) != 0


def as_loops(compiled: bool | tuple[bool, bool]) -> tuple[bool, bool]:
    """A kernel's ``compiled`` argument as (forward, backward): a bool stands for both."""
    if isinstance(compiled, bool):
        return compiled, compiled
    forward, backward = compiled
    return bool(forward), bool(backward)
