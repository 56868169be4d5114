"""The latching problem, variant I (Bengio, Simard & Frasconi 1994, as restated by Schmidhuber,
Hochreiter & Bengio 2001, "Evaluating benchmark problems by random guessing", node 3).

One tanh unit with a self-connection, ``x_t = tanh(w x_{t-1} + u_t)``, ``x_0 = 0``. Its only
weight is ``w``; the first input ``u_1`` is a free parameter per class (``h_+`` and ``h_-``),
every later input is Gaussian noise of variance 0.2, and the target at the end is +0.8 or -0.8.
For ``w > 1`` the unit has two attractors, so it can latch the class; but where it latches
robustly, ``|w (1 - x^2)| < 1``, the gradient from the end back to ``u_1`` shrinks by that factor
at every step: the longer the sequence, the less gradient descent can learn.

The unit is an :class:`rnnlab.Elman` layer with one unit, no bias and its input weight fixed at 1,
so the analysis tools (:mod:`rnnlab.analysis.gradient_flow`) apply to it unchanged.
"""

import math
from dataclasses import dataclass

import torch

from rnnlab.layers import Elman

NOISE_VARIANCE = 0.2
TARGET = 0.8
TOLERANCE = 0.4  # a sequence is right when |x_T - d| < 0.4 (spec section 3.5)


@dataclass(frozen=True)
class LatchData:
    """``labels`` (N,) 0 for the + class, 1 for the - class; ``noise`` (N, T) inputs for t > 1."""

    labels: torch.Tensor
    noise: torch.Tensor

    @classmethod
    def draw(cls, num: int, seq_len: int, generator: torch.Generator) -> "LatchData":
        labels = torch.arange(num) % 2
        noise = torch.randn(num, seq_len, generator=generator) * math.sqrt(NOISE_VARIANCE)
        return cls(labels, noise)

    @property
    def targets(self) -> torch.Tensor:
        return torch.where(self.labels == 0, TARGET, -TARGET)


class LatchUnit(torch.nn.Module):
    """The single tanh unit and the two free first inputs."""

    def __init__(self, w: float, h_plus: float, h_minus: float) -> None:
        super().__init__()
        self.unit = Elman(1, 1, bias=False)
        with torch.no_grad():
            self.unit.weight_ih_l0.fill_(1.0)
            self.unit.weight_hh_l0.fill_(w)
        self.unit.weight_ih_l0.requires_grad_(False)
        self.first_inputs = torch.nn.Parameter(torch.tensor([h_plus, h_minus]))

    @property
    def w(self) -> float:
        return float(self.unit.weight_hh_l0.detach())

    def inputs(self, data: LatchData) -> torch.Tensor:
        """(N, T, 1): the class's free first input, then the noise."""
        first = self.first_inputs[data.labels][:, None]
        return torch.cat([first, data.noise[:, 1:]], dim=1)[..., None]

    def forward(self, data: LatchData) -> torch.Tensor:
        """x_T for every sequence, (N,)."""
        outputs, _ = self.unit(self.inputs(data), torch.zeros(1, len(data.labels), 1))
        return outputs[:, -1, 0]

    def accuracy(self, data: LatchData) -> float:
        with torch.no_grad():
            return float(((self(data) - data.targets).abs() < TOLERANCE).float().mean())


def train_by_gradient_descent(
    seq_len: int, seed: int, steps: int = 300, lr: float = 0.5, num_train: int = 100,
    num_test: int = 256,
) -> tuple[bool, LatchUnit]:  # fmt: skip
    """Full-batch gradient descent on ½ mean (x_T - d)² from w ~ U(0.5, 1.5), h ~ U(-0.1, 0.1).

    Success: at least 95 % of ``num_test`` fresh sequences within 0.4 of their target.
    """
    generator = torch.Generator().manual_seed(seed)
    w = 0.5 + float(torch.rand((), generator=generator))
    h = (torch.rand(2, generator=generator) * 0.2 - 0.1).tolist()
    unit = LatchUnit(w, *h)
    train, test = (
        LatchData.draw(num_train, seq_len, generator),
        LatchData.draw(num_test, seq_len, generator),
    )
    parameters = [unit.unit.weight_hh_l0, unit.first_inputs]
    optimizer = torch.optim.SGD(parameters, lr=lr)
    for _ in range(steps):
        loss = 0.5 * ((unit(train) - train.targets) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return unit.accuracy(test) >= 0.95, unit


def random_guessing_trials(
    seq_len: int, seed: int, limit: int = 10_000, num_test: int = 256
) -> int:
    """Trials until (w, h_+, h_-) drawn from U(-100, 100)^3 solve the task (``limit`` if never)."""
    generator = torch.Generator().manual_seed(seed)
    test = LatchData.draw(num_test, seq_len, generator)
    for trial in range(1, limit + 1):
        w, h_plus, h_minus = (torch.rand(3, generator=generator) * 200 - 100).tolist()
        if LatchUnit(w, h_plus, h_minus).accuracy(test) >= 0.95:
            return trial
    return limit
