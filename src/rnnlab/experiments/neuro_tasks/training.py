"""How the replication trains its networks: pycog's network and stopping rule, Adam instead of
pycog's SGD.

Network (pycog's defaults, spec section 1.1): a :class:`rnnlab.CTRNN` of relu units under
Dale's law (80 % excitatory), tau = 100 ms, dt = 20 ms (alpha = 0.2), recurrent noise
sigma_rec = 0.15 and input noise sigma_in = 0.01, a learned initial state starting at 0.1,
read out from the excitatory units with non-negative weights
(:class:`rnnlab.models.readout.Network`, whose readout of a Dale's-law layer is
:class:`~rnnlab.models.readout.ExcitatoryReadout`); N = 100 for random dots
(pycog's ``rdm_fixed``) and 150 for context-dependent integration (the spec's N for
``mante``). The noise is drawn in evaluation too, as in pycog's validation trials: without it
the network would be nearly deterministic and answer the weakest coherences almost
perfectly.

Training: masked squared error on the fixation and decision periods (the tasks' loss), Adam
(lr 0.005) with the gradient norm clipped at 1 (pycog's ``max_gradient_norm``), minibatches
of 20 trials (50 for context-dependent integration, pycog's ``n_gradient``), until the mean
of the last 5 validation accuracies exceeds a target (pycog's ``terminate``), at most
``max_steps`` updates. The validation trials are balanced over the conditions, as pycog's.
The replication stops 2 points above pycog's targets (87 % and 92 %, not 85 % and 90 %):
the networks are noisy and their accuracy wanders by a point or two from one validation to
the next, so a network stopped at the target itself scatters around it on fresh test trials
(measured: 0.81-0.90 for random dots stopped at 85 %, 0.86-0.93 for context stopped at 91 %
with unbalanced validation trials).

Deliberate deviations from pycog: Adam instead of plain SGD with lr 0.01, and no
vanishing-gradient regulariser Omega (both only to train within minutes on a CPU); uniform
initial weights (rnnlab's CTRNN initialisation, E/I balanced in expectation) instead of
Gamma(2) magnitudes scaled to spectral radius 1.5; a learned readout bias (pycog fixes it at
0); a fixation input that turns off at the decision period; a fixed training set of trials
instead of fresh ones every update (the same distribution: see :mod:`rnnlab.tasks.trials`).
"""

import statistics
import time
from dataclasses import dataclass

import torch

from rnnlab.layers import CTRNN
from rnnlab.models.readout import Network
from rnnlab.tasks.trials import CognitiveTask
from rnnlab.train.config import TrainingConfig
from rnnlab.train.loop import Callback, Loop
from rnnlab.train.trainer import FitResult, fit

SIGMA_REC = 0.15  # pycog's var_rec = 0.15**2
SIGMA_IN = 0.01  # pycog's var_in = 0.01**2
V0 = 0.1  # pycog's trainable x0 starts at 0.1


@dataclass(frozen=True)
class Setting:
    """How one task's networks are built and trained."""

    hidden_size: int
    batch_size: int
    target: float  # the stopping rule's
    max_steps: int
    lr: float = 0.005
    eval_every: int = 25
    last: int = 5  # validations averaged for the stopping rule


class TargetPerformance(Callback):
    """Stop (reason ``"target_reached"``) once the mean validation accuracy of the last
    ``last`` validations exceeds ``target`` (pycog's ``terminate``)."""

    def __init__(self, target: float, last: int = 5) -> None:
        self.target, self.last = target, last
        self.accuracies: list[float] = []

    def on_validation(self, loop: Loop, metrics: dict[str, float]) -> None:
        self.accuracies.append(metrics["val_accuracy"])
        recent = self.accuracies[-self.last :]
        if len(recent) == self.last and statistics.fmean(recent) > self.target:
            loop.state.finished = loop.state.finished or "target_reached"


def dale_network(task: CognitiveTask, hidden_size: int, seed: int) -> Network:
    """A fresh network for ``task`` (see the module docstring), its weights drawn from torch's
    generator seeded with ``seed`` and its noise from its own, seeded with ``seed`` too."""
    torch.manual_seed(seed)
    layer = CTRNN(
        task.input_size, hidden_size, nonlinearity="relu", tau=100.0, dt=task.config.dt,
        sigma_rec=SIGMA_REC, sigma_in=SIGMA_IN, noise_in_eval=True, seed=seed, dale=True,
        v0=V0, learn_v0=True,
    )  # fmt: skip
    network = Network(layer, task.output_size)  # read from the excitatory units, |W_out|
    with torch.no_grad():
        network.readout.bias.zero_()  # pycog's b_out is 0 (fixed there, learned here)
    return network


@dataclass(frozen=True)
class Trained:
    """A trained network and how its training went."""

    network: Network
    result: FitResult
    seconds: float
    accuracies: list[float]  # every validation accuracy, in order
    steps_at: list[int]  # the step of each

    def as_dict(self) -> dict:
        return {"steps": self.result.step, "reason": self.result.reason,
                "seconds": self.seconds,
                "curve": [[s, a] for s, a in zip(self.steps_at, self.accuracies)]}  # fmt: skip


def train(task: CognitiveTask, setting: Setting, seed: int) -> Trained:
    """Train a fresh network on ``task`` as ``setting`` says (see the module docstring)."""
    network = dale_network(task, setting.hidden_size, seed)
    training = TrainingConfig(
        seed=seed, optimizer="adam", lr=setting.lr, batch_size=setting.batch_size,
        clip_grad_norm=1.0, max_steps=setting.max_steps, eval_every=setting.eval_every,
        log_every=setting.eval_every, checkpoint_every=10**9,
    )  # fmt: skip
    stop = TargetPerformance(setting.target, setting.last)
    began = time.perf_counter()
    result = fit(network, task, training, callbacks=[stop])
    seconds = time.perf_counter() - began
    steps_at = [r["step"] for r in result.history if "val_accuracy" in r]
    return Trained(result.network, result, seconds, stop.accuracies, steps_at)
