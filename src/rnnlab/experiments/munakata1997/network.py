"""The network of the replication: one recurrent layer, two heads that read it.

::

    frame x_t (2 K) -> recurrent hidden layer h_t (H) -> prediction head: next frame (2 K)
                                                      -> reach head: toy position (K),
                                                         gated by the "within reach" channel

Both heads read the same hidden state (the structure of the CECN account of the same lab's
A-not-B model, which the spec follows: "the gaze/expectation layer responds to every input,
while the reaching layer responds only to inputs corresponding to a stimulus within
'reaching distance'"). The input's last channel (:mod:`rnnlab.tasks.occlusion_events`) is not
seen by the hidden layer: it only gates the reach head, whose raw outputs are
``within_t * (W_r h_t + b_r)``. Where it is 0 the reach units sit at their resting output
(logistic 0.5, the task's target there) and get no gradient: the reach head and, through it,
the hidden layer learn from the reach steps only, as many as the events' reach steps.
"""

import torch
from torch import nn

from rnnlab.layers import Elman


class LookReachNetwork(nn.Module):
    """``network(x, state, lengths)`` -> raw outputs (B, T, 3 K): the prediction head's 2 K,
    then the gated reach head's K, and the layer's final state.

    Args:
        positions: K, the visual array's positions (inputs 2 K + 1, outputs 3 K).
        hidden_size: H, recurrent units.
        nonlinearity: the hidden units' (``"sigmoid"``: logistic, the PDP networks').
    """

    def __init__(self, positions: int, hidden_size: int, nonlinearity: str = "sigmoid") -> None:
        super().__init__()
        self.positions = positions
        self.layer = Elman(2 * positions, hidden_size, nonlinearity=nonlinearity)
        self.predict = nn.Linear(hidden_size, 2 * positions)
        self.reach = nn.Linear(hidden_size, positions)

    def _check(self, x: torch.Tensor) -> None:
        if x.shape[-1] != 2 * self.positions + 1:
            raise ValueError(
                f"LookReachNetwork of {self.positions} positions reads frames of 2 K + 1 = "
                f"{2 * self.positions + 1} values (the last: within reach); got {x.shape[-1]}"
            )

    def hidden(self, x: torch.Tensor, state=None, lengths=None):
        """The hidden layer's outputs (B, T, H) on the frames of x, and its final state."""
        self._check(x)
        return self.layer(x[..., : 2 * self.positions], state, lengths)

    def forward(self, x: torch.Tensor, state=None, lengths=None):
        hidden, state = self.hidden(x, state, lengths)  # (B, T, H)
        within = x[..., 2 * self.positions :]  # (B, T, 1)
        return torch.cat([self.predict(hidden), within * self.reach(hidden)], dim=-1), state

    def unroll_members(self, tensors, x: torch.Tensor, state=None, lengths=None):
        """N members at once (an :class:`rnnlab.Ensemble`'s) on the layer's member kernel and
        batched heads; ``tensors`` stacked (N, ...). None where the kernel cannot serve."""
        self._check(x)
        layer = {k.removeprefix("layer."): v for k, v in tensors.items() if k[:6] == "layer."}
        self.layer.train(self.training)
        served = self.layer.unroll_members(layer, x[..., : 2 * self.positions], state, lengths)
        if served is None:
            return None
        hidden, state = served  # (N, B, T, H)

        def head(name: str) -> torch.Tensor:
            weight, bias = tensors[f"{name}.weight"], tensors[f"{name}.bias"]  # (N, O, H), (N, O)
            return torch.matmul(hidden, weight[:, None].transpose(-1, -2)) + bias[:, None, None]

        within = x[..., 2 * self.positions :]  # (B, T, 1) or (N, B, T, 1)
        return torch.cat([head("predict"), within * head("reach")], dim=-1), state
