"""Recurrent cells: one family per file, each with its spec, its step function and its cell.

:mod:`rnnlab.cells.spec`
    :class:`CellSpec`, what a family is for the layers, ``record`` and the analysis.
:mod:`rnnlab.cells.elman`, :mod:`~rnnlab.cells.jordan`, :mod:`~rnnlab.cells.gru`,
:mod:`~rnnlab.cells.lstm`, :mod:`~rnnlab.cells.ctrnn`
    The families: ``ELMAN_SPEC`` and ``elman_step`` beside :class:`ElmanCell`, and so on;
    ``CTRNN_SPEC`` and ``ctrnn_step`` beside :class:`CTRNNCell`, the continuous-time rate
    network with Dale's law.
:mod:`rnnlab.cells.mingru`, :mod:`~rnnlab.cells.minlstm`
    The parallel-scan families of Feng et al. (2024), whose gates read only x_t:
    ``MINGRU_SPEC``, ``mingru_step`` and :class:`MinGRUCell`; ``MINLSTM_SPEC``,
    ``minlstm_step`` and :class:`MinLSTMCell`; their log-space scan coefficients.
:mod:`rnnlab.cells.base`
    What the cells share: the one contract, size and switch checks, torch.nn's initialisation.
:mod:`rnnlab.cells.activations`
    The named nonlinearities, their resting values and slope bounds.
"""

from rnnlab.cells.base import RecurrentCell
from rnnlab.cells.ctrnn import CTRNN_SPEC, CTRNNCell, CTRNNTrace, CTRNNWeights, ctrnn_step
from rnnlab.cells.elman import ELMAN_SPEC, ElmanCell, ElmanTrace, elman_step
from rnnlab.cells.gru import GRU_SPEC, GRUCell, GRUTrace, gru_step
from rnnlab.cells.jordan import JORDAN_SPEC, JordanCell, JordanTrace, jordan_step
from rnnlab.cells.lstm import LSTM_SPEC, LSTMCell, LSTMState, LSTMTrace, lstm_step
from rnnlab.cells.mingru import MINGRU_SPEC, MinGRUCell, MinGRUTrace, mingru_step
from rnnlab.cells.minlstm import MINLSTM_SPEC, MinLSTMCell, MinLSTMTrace, minlstm_step
from rnnlab.cells.spec import CellSpec

__all__ = [
    "CTRNN_SPEC",
    "ELMAN_SPEC",
    "GRU_SPEC",
    "JORDAN_SPEC",
    "LSTM_SPEC",
    "MINGRU_SPEC",
    "MINLSTM_SPEC",
    "CTRNNCell",
    "CTRNNTrace",
    "CTRNNWeights",
    "CellSpec",
    "ElmanCell",
    "ElmanTrace",
    "GRUCell",
    "GRUTrace",
    "JordanCell",
    "JordanTrace",
    "LSTMCell",
    "LSTMState",
    "LSTMTrace",
    "MinGRUCell",
    "MinGRUTrace",
    "MinLSTMCell",
    "MinLSTMTrace",
    "RecurrentCell",
    "ctrnn_step",
    "elman_step",
    "gru_step",
    "jordan_step",
    "lstm_step",
    "mingru_step",
    "minlstm_step",
]
