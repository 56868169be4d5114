"""rnnlab: recurrent neural networks to build, train, probe and benchmark.

The table of contents:

Layers (batch-first sequences, torch.nn's parameter names and state layout)
    :class:`Elman`, :class:`Jordan`, :class:`GRU`, :class:`LSTM`, and the state
    :class:`LSTMState`; ``layer.record(x)`` returns :class:`ElmanTrace`,
    :class:`JordanTrace`, :class:`GRUTrace` or :class:`LSTMTrace`.
Cells (one time step, ``y_t, state = cell(x_t, state)``)
    :class:`ElmanCell`, :class:`JordanCell`, :class:`GRUCell`, :class:`LSTMCell`.
NumPy reference (forward pass and hand-derived backpropagation through time)
    :mod:`rnnlab.reference`.
Tasks (seeded stimulus generators and loaders of real data)
    :mod:`rnnlab.tasks`.
Networks trained by ``rnnlab train``
    :mod:`rnnlab.network` (a layer and a readout), :mod:`rnnlab.seq2seq` (encoder-decoder),
    :mod:`rnnlab.attention` (additive and dot attention), :mod:`rnnlab.decoding` (greedy and
    beam search).
"""

from rnnlab import reference, tasks
from rnnlab.cells import CellSpec, ElmanCell, GRUCell, JordanCell, LSTMCell, LSTMState
from rnnlab.layers import (
    GRU,
    LSTM,
    Elman,
    ElmanTrace,
    GRUTrace,
    Jordan,
    JordanTrace,
    LSTMTrace,
    RecurrentLayer,
)

__version__ = "0.1.0"

__all__ = [
    "GRU",
    "LSTM",
    "CellSpec",
    "Elman",
    "ElmanCell",
    "ElmanTrace",
    "GRUCell",
    "GRUTrace",
    "Jordan",
    "JordanCell",
    "JordanTrace",
    "LSTMCell",
    "LSTMState",
    "LSTMTrace",
    "RecurrentLayer",
    "reference",
    "tasks",
]
