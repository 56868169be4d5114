"""rnnlab: recurrent neural networks to build, train, probe and benchmark.

The table of contents:

Layers (batch-first sequences, torch.nn's parameter names and state layout)
    :class:`Elman`, :class:`Jordan`, :class:`GRU`, :class:`LSTM`, :class:`CTRNN` (continuous
    time, Dale's law), the parallel-scan :class:`MinGRU` and :class:`MinLSTM`, and the state
    :class:`LSTMState`; ``layer.record(x)`` returns :class:`ElmanTrace`, :class:`JordanTrace`,
    :class:`GRUTrace`, :class:`LSTMTrace`, :class:`CTRNNTrace`, :class:`MinGRUTrace` or
    :class:`MinLSTMTrace`.
Cells (one time step, ``y_t, state = cell(x_t, state)``)
    :class:`ElmanCell`, :class:`JordanCell`, :class:`GRUCell`, :class:`LSTMCell`,
    :class:`CTRNNCell`, :class:`MinGRUCell`, :class:`MinLSTMCell`.
NumPy reference (forward pass and hand-derived backpropagation through time)
    :mod:`rnnlab.reference`.
Tasks (seeded stimulus generators and loaders of real data)
    :mod:`rnnlab.tasks`.
Networks trained by ``rnnlab train``
    :mod:`rnnlab.models`: :mod:`~rnnlab.models.config` (the ``[model]`` configs and the one
    factory), :mod:`~rnnlab.models.readout` (a layer and a readout: at every step, or once
    per sequence),
    :mod:`~rnnlab.models.seq2seq` (encoder-decoder), :mod:`~rnnlab.models.attention` (additive
    and dot attention), :mod:`~rnnlab.models.decoding` (greedy and beam search),
    :mod:`~rnnlab.models.ensemble` (the one ensemble, :class:`Ensemble`; its members on data
    of their own: :class:`MemberTasks`).
Sweeps (``rnnlab sweep``: a base config x a grid or points of overrides x seeds)
    :func:`run_sweep` (each run a run directory, on local workers or Ray; returns the
    :class:`SweepSummary`, mean ± sd over seeds), :func:`load_sweep` (the sweep file, validated).
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names as type checkers and editors see them
    from rnnlab import reference, tasks
    from rnnlab.cells import (
        CellSpec,
        CTRNNCell,
        ElmanCell,
        GRUCell,
        JordanCell,
        LSTMCell,
        LSTMState,
        MinGRUCell,
        MinLSTMCell,
    )
    from rnnlab.layers import (
        CTRNN,
        GRU,
        LSTM,
        CTRNNTrace,
        Elman,
        ElmanTrace,
        GRUTrace,
        Jordan,
        JordanTrace,
        LSTMTrace,
        MinGRU,
        MinGRUTrace,
        MinLSTM,
        MinLSTMTrace,
        RecurrentLayer,
    )
    from rnnlab.models.ensemble import Ensemble
    from rnnlab.tasks.member_tasks import MemberTasks
    from rnnlab.train.sweep import SweepSummary, run_sweep
    from rnnlab.train.sweep_config import load_sweep

# Where each public name lives. They are imported on first use (PEP 562), so that
# `rnnlab --help` and `rnnlab list` answer without importing torch.
_MODULE_OF = {
    "CTRNN": "rnnlab.layers",
    "CTRNNTrace": "rnnlab.layers",
    "GRU": "rnnlab.layers",
    "LSTM": "rnnlab.layers",
    "Elman": "rnnlab.layers",
    "ElmanTrace": "rnnlab.layers",
    "GRUTrace": "rnnlab.layers",
    "Jordan": "rnnlab.layers",
    "JordanTrace": "rnnlab.layers",
    "LSTMTrace": "rnnlab.layers",
    "MinGRU": "rnnlab.layers",
    "MinGRUTrace": "rnnlab.layers",
    "MinLSTM": "rnnlab.layers",
    "MinLSTMTrace": "rnnlab.layers",
    "RecurrentLayer": "rnnlab.layers",
    "MinGRUCell": "rnnlab.cells",
    "MinLSTMCell": "rnnlab.cells",
    "CellSpec": "rnnlab.cells",
    "CTRNNCell": "rnnlab.cells",
    "ElmanCell": "rnnlab.cells",
    "GRUCell": "rnnlab.cells",
    "JordanCell": "rnnlab.cells",
    "LSTMCell": "rnnlab.cells",
    "LSTMState": "rnnlab.cells",
    "Ensemble": "rnnlab.models.ensemble",
    "MemberTasks": "rnnlab.tasks.member_tasks",
    "SweepSummary": "rnnlab.train.sweep",
    "load_sweep": "rnnlab.train.sweep_config",
    "run_sweep": "rnnlab.train.sweep",
}
_SUBMODULES = ("reference", "tasks")


def __getattr__(name: str):
    if name in _SUBMODULES:
        value = importlib.import_module(f"rnnlab.{name}")
    elif name in _MODULE_OF:
        value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    else:
        raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__version__ = "0.1.0"

__all__ = [
    "CTRNN",
    "GRU",
    "LSTM",
    "CTRNNCell",
    "CTRNNTrace",
    "CellSpec",
    "Elman",
    "ElmanCell",
    "ElmanTrace",
    "Ensemble",
    "GRUCell",
    "GRUTrace",
    "Jordan",
    "JordanCell",
    "JordanTrace",
    "LSTMCell",
    "LSTMState",
    "LSTMTrace",
    "MemberTasks",
    "MinGRU",
    "MinGRUCell",
    "MinGRUTrace",
    "MinLSTM",
    "MinLSTMCell",
    "MinLSTMTrace",
    "RecurrentLayer",
    "SweepSummary",
    "load_sweep",
    "reference",
    "run_sweep",
    "tasks",
]
