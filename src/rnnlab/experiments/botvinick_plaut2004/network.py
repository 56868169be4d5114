"""The networks of the study, trained together: N simple recurrent networks, 39 -> 50 -> 19.

Each network (``classic_experiments.md`` section 4.3) is an :func:`rnnlab.Elman` layer of 50
logistic units, fully recurrent, with no hidden-to-hidden bias (its ``bias_hh_l0`` is held at
0; the input-to-hidden bias is the hidden bias), and 19 logistic output units; every weight and
bias starts in U(-1, 1) and the hidden state of every sequence starts in U(0.01, 0.99). The N
networks of a study are one :class:`rnnlab.Ensemble` (the layers; the readouts are stacked
(N, 19, 50) beside it), so one call runs all of them on a batch of sequences.

The loss is the cross-entropy of the logistic outputs against the targets (which sum to 1 per
row: a one-hot action in a sequence, an even spread over the afforded actions in a background
pattern), summed over output units, steps and sequences, and back-propagated through each whole
sequence. Two modes:

- ``faithful``: plain gradient descent at 0.001 on the loss summed over the epoch, one update
  per epoch, 20,000 epochs. (The spec shuffles the sequences each epoch; with one update per
  epoch on the summed gradient the order changes nothing, so the batch is not shuffled.)
- ``modern``: Adam (lr 0.01 on the loss averaged over the 355 sequences), 2,000 epochs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rnnlab.layers import Elman
from rnnlab.models.ensemble import Ensemble
from rnnlab.tasks.coffee_tea import Sequence

HIDDEN = 50
MODES = {
    "faithful": {"optimizer": "sgd", "lr": 0.001, "epochs": 20000},
    "modern": {"optimizer": "adam", "lr": 0.01, "epochs": 2000},
}


class Networks(nn.Module):
    """N networks: an ensemble of Elman layers and their stacked readouts."""

    def __init__(self, n: int, seed: int, input_size: int = 39, output_size: int = 19) -> None:
        super().__init__()
        self.layers = Ensemble(lambda: Elman(input_size, HIDDEN, nonlinearity="sigmoid"), n,
                               seeds=[seed * 1000 + k for k in range(n)])  # fmt: skip
        generator = torch.Generator().manual_seed(seed)
        self.readout_weight = nn.Parameter(torch.empty(n, output_size, HIDDEN))
        self.readout_bias = nn.Parameter(torch.empty(n, output_size))
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.uniform_(-1.0, 1.0, generator=generator)
            self.layers.bias_hh_l0.zero_()
        self.layers.bias_hh_l0.requires_grad_(False)

    def __len__(self) -> int:
        return self.readout_bias.shape[0]

    def initial_state(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """Hidden states U(0.01, 0.99), (N, 1, B, H)."""
        return 0.01 + 0.98 * torch.rand(len(self), 1, batch, HIDDEN, generator=generator)

    def forward(self, x: torch.Tensor, state: torch.Tensor, lengths=None):
        """x (B, T, 39) shared or (N, B, T, 39); returns output logits (N, B, T, 19), hidden
        states (N, B, T, H) and the final state (N, 1, B, H)."""
        hidden, final = self.layers(x, state, lengths)
        logits = torch.einsum("nbth,noh->nbto", hidden, self.readout_weight)
        return logits + self.readout_bias[:, None, None, :], hidden, final

    def step(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step of every network: x_t (N, B, 39), h (N, B, H) -> the new hidden state
        (N, B, H); the layer's equation, h' = sigmoid(W_ih x + b_ih + W_hh h + b_hh), without
        the layer's per-call checks (the closed loop calls it once per step)."""
        p = self.layers
        pre = torch.baddbmm(p.bias_ih_l0[:, None, :] + p.bias_hh_l0[:, None, :], x_t,
                            p.weight_ih_l0.transpose(1, 2))  # fmt: skip
        return torch.sigmoid(torch.baddbmm(pre, h, p.weight_hh_l0.transpose(1, 2)))

    def readout(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits (N, B, 19) of hidden states (N, B, H)."""
        return (
            torch.einsum("nbh,noh->nbo", hidden, self.readout_weight)
            + self.readout_bias[:, None, :]
        )


@dataclass(frozen=True)
class Batch:
    """The training set as two padded batches: the single-step background patterns and the
    sequences (inputs, targets, lengths, mask)."""

    background_x: torch.Tensor
    background_y: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    lengths: torch.Tensor
    mask: torch.Tensor

    @staticmethod
    def of(sequences: list[Sequence]) -> Batch:
        single = [s for s in sequences if len(s.inputs) == 1]
        longer = [s for s in sequences if len(s.inputs) > 1]
        T = max(len(s.inputs) for s in longer)
        x = np.zeros((len(longer), T, 39))
        y = np.zeros((len(longer), T, 19))
        mask = np.zeros((len(longer), T))
        for b, s in enumerate(longer):
            x[b, : len(s.inputs)], y[b, : len(s.inputs)] = s.inputs, s.targets
            mask[b, : len(s.inputs)] = 1
        f = torch.float32
        return Batch(
            torch.tensor(np.array([s.inputs for s in single]), dtype=f),
            torch.tensor(np.array([s.targets for s in single]), dtype=f),
            torch.tensor(x, dtype=f), torch.tensor(y, dtype=f),
            torch.tensor([len(s.inputs) for s in longer]), torch.tensor(mask, dtype=f),
        )  # fmt: skip

    @property
    def count(self) -> int:
        return len(self.background_x) + len(self.x)


def losses(networks: Networks, batch: Batch, generator: torch.Generator) -> torch.Tensor:
    """Each network's cross-entropy summed over the training set, (N,)."""
    bce = nn.functional.binary_cross_entropy_with_logits
    state = networks.initial_state(len(batch.background_x), generator)
    logits, _, _ = networks(batch.background_x, state)
    target = batch.background_y.expand_as(logits)
    total = bce(logits, target, reduction="none").sum(dim=(1, 2, 3))
    state = networks.initial_state(len(batch.x), generator)
    logits, _, _ = networks(batch.x, state, batch.lengths)
    per_unit = bce(logits, batch.y.expand_as(logits), reduction="none")
    return total + (per_unit * batch.mask[None, :, :, None]).sum(dim=(1, 2, 3))


def train(networks: Networks, sequences: list[Sequence], mode: str, seed: int,
          epochs: int | None = None, echo: Callable[[str], None] = print) -> dict:  # fmt: skip
    """Train every network at once in ``mode`` (see the module docstring); returns the loss
    curve (mean over networks, every 1 % of the epochs) and the seconds taken."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    settings = MODES[mode]
    epochs = epochs or settings["epochs"]
    batch = Batch.of(sequences)
    parameters = [p for p in networks.parameters() if p.requires_grad]
    if settings["optimizer"] == "sgd":
        optimiser = torch.optim.SGD(parameters, lr=settings["lr"])
        scale = 1.0
    else:
        optimiser = torch.optim.Adam(parameters, lr=settings["lr"])
        scale = 1.0 / batch.count
    generator = torch.Generator().manual_seed(seed)
    curve, start, every = [], time.perf_counter(), max(1, epochs // 100)
    networks.train()
    for epoch in range(epochs):
        optimiser.zero_grad(set_to_none=True)
        per_network = losses(networks, batch, generator)
        (per_network.sum() * scale).backward()
        optimiser.step()
        if epoch % every == 0 or epoch == epochs - 1:
            curve.append((epoch, float(per_network.detach().mean()) / batch.count))
            if epoch % (every * 10) == 0:
                echo(f"  {mode} epoch {epoch}: loss per sequence {curve[-1][1]:.4f}")
    networks.eval()
    return {"curve": curve, "seconds": time.perf_counter() - start, "epochs": epochs}
