"""Recurrent cells: one time step each, one family per file."""

from rnnlab.cells.base import RecurrentCell
from rnnlab.cells.elman import ElmanCell, elman_step
from rnnlab.cells.gru import GRUCell, gru_step
from rnnlab.cells.jordan import JordanCell, jordan_step
from rnnlab.cells.lstm import LSTMCell, LSTMState, lstm_step

__all__ = [
    "ElmanCell",
    "GRUCell",
    "JordanCell",
    "LSTMCell",
    "LSTMState",
    "RecurrentCell",
    "elman_step",
    "gru_step",
    "jordan_step",
    "lstm_step",
]
