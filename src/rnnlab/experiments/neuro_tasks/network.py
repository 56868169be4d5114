"""The network of the replication: a CTRNN under Dale's law, read out from its excitatory
units (Song, Yang & Wang 2016; pycog's ``Cout[:, EXC] = 1`` and ``W_out = [W_out]+ diag(ei)``).
"""

import math

import torch
from torch import nn

from rnnlab.layers import CTRNN


class DaleNetwork(nn.Module):
    """A :class:`rnnlab.CTRNN` with ``dale=True`` and a linear readout of the rates of its
    excitatory units, with non-negative weights.

    ``network(x, state, lengths)`` returns ``(outputs (B, T, O), state)`` as rnnlab's
    networks do (so :func:`rnnlab.train.fit` trains it)::

        outputs_t = r_t[E] |W_out|^T + b_out

    with ``r_t[E]`` the rates of the excitatory units (B, T, n_E). The free parameters are
    ``readout_weight`` (O, n_E), used through its absolute value, so the readout's weights
    stay non-negative whatever an update does, and ``readout_bias`` (O,) (pycog's ``bout``
    is fixed at 0; here it is learned). Initialisation: ``readout_weight`` from
    U(0, 1/sqrt(n_E)), ``readout_bias`` 0.
    """

    def __init__(self, layer: CTRNN, output_size: int) -> None:
        super().__init__()
        if not isinstance(layer, CTRNN) or not layer.dale:
            raise ValueError("DaleNetwork reads a CTRNN under Dale's law (dale=True)")
        if layer.num_layers != 1 or layer.bidirectional:
            raise ValueError("DaleNetwork reads one layer in one direction")
        self.layer = layer
        self.excitatory = len(layer.excitatory_units)
        like = layer.weight_hh_l0
        bound = 1 / math.sqrt(self.excitatory)
        self.readout_weight = nn.Parameter(
            torch.empty(output_size, self.excitatory, dtype=like.dtype).uniform_(0, bound)
        )
        self.readout_bias = nn.Parameter(torch.zeros(output_size, dtype=like.dtype))

    @property
    def output_size(self) -> int:
        return self.readout_weight.shape[0]

    def effective_readout(self) -> torch.Tensor:
        """(O, H): the weights the readout applies to every unit's rate, |W_out| on the
        excitatory units and 0 on the inhibitory ones."""
        zeros = self.readout_weight.new_zeros(
            self.output_size, self.layer.hidden_size - self.excitatory
        )
        return torch.cat([self.readout_weight.abs(), zeros], dim=1)

    def forward(self, x: torch.Tensor, state=None, lengths=None):
        rates, state = self.layer(x, state, lengths)  # (B, T, H)
        excitatory = rates[..., : self.excitatory]  # the first n_E units (B, T, n_E)
        return excitatory @ self.readout_weight.abs().T + self.readout_bias, state
