"""Training the simulated infants, and their development epoch by epoch.

:func:`train_condition` trains N networks (one :class:`rnnlab.Ensemble`, each member its own
seed: its own initial weights, its own sample of training events and batch order, through
:class:`rnnlab.MemberTasks`) with :func:`rnnlab.train.fit`. The task's per-step loss expresses
the two heads' schedules (:mod:`rnnlab.tasks.occlusion_events`), so the standard trainer
serves. The :class:`Development` callback measures every member on the matched test events
before training and after every epoch (:mod:`.measures`) and keeps the hidden states of the
first member on the opaque events at a few epochs, for the PCA figure.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from rnnlab.experiments.munakata1997.measures import MEASURES, MatchedIndex, measure
from rnnlab.experiments.munakata1997.network import LookReachNetwork
from rnnlab.models.ensemble import Ensemble
from rnnlab.tasks.member_tasks import MemberTasks
from rnnlab.tasks.occlusion_events import (
    OcclusionEvents,
    OcclusionEventsConfig,
    matched_test_events,
    tensors,
)
from rnnlab.train.config import TrainingConfig
from rnnlab.train.loop import Callback, Loop
from rnnlab.train.trainer import fit


class Development(Callback):
    """Every measure of every member before training and after every epoch; the hidden states
    of member 0 on the test events at the epochs of ``snapshots``."""

    def __init__(self, config: OcclusionEventsConfig, snapshots: tuple[int, ...]) -> None:
        self.events = matched_test_events(config)
        self.split = tensors(self.events, config)
        self.index = MatchedIndex.of(self.events, config.positions)
        self.positions = config.positions
        self.snapshots = snapshots
        self.curves: dict[str, list[np.ndarray]] = {name: [] for name in MEASURES}
        self.hidden: dict[int, np.ndarray] = {}  # epoch -> (B, T, H) of member 0

    def on_start(self, loop: Loop) -> None:
        self._measure(loop.network, 0)

    def on_epoch(self, loop: Loop) -> None:
        self._measure(loop.network, loop.state.epoch)

    @torch.no_grad()
    def _measure(self, network: Ensemble, epoch: int) -> None:
        was_training = network.training
        network.eval()
        outputs, _ = network(self.split.x)  # (N, B, T, 3 K)
        for name, values in measure(outputs, self.split.y, self.index, self.positions).items():
            self.curves[name].append(values)
        if epoch in self.snapshots:
            hidden, _ = network.member(0).hidden(self.split.x)
            self.hidden[epoch] = hidden.numpy()
        network.train(was_training)


@dataclass
class Condition:
    """One condition's ensemble after training: the curves (measure -> (N, epochs + 1)), the
    hidden-state snapshots of member 0, the trained ensemble and the test events."""

    name: str
    curves: dict[str, np.ndarray]
    hidden: dict[int, np.ndarray]
    network: Ensemble
    events: list
    seconds: float = 0.0
    steps: int = 0
    history: list = field(default_factory=list)


def train_condition(
    name: str,
    config: OcclusionEventsConfig,
    seeds: list[int],
    hidden_size: int,
    training: TrainingConfig,
    snapshots: tuple[int, ...] = (),
) -> Condition:
    """Train one network per seed on ``config``'s events (member k: events and weights of seed
    ``seeds[k]``) for ``training.max_epochs`` epochs, measuring every epoch."""
    began = time.perf_counter()
    tasks = [OcclusionEvents(config.model_copy(update={"seed": seed})) for seed in seeds]
    members = MemberTasks(tasks, [training.seed + seed for seed in seeds])
    network = Ensemble(lambda: LookReachNetwork(config.positions, hidden_size), len(seeds),
                       seeds=[10_000 + seed for seed in seeds])  # fmt: skip
    development = Development(config, snapshots)
    result = fit(network, members, training, callbacks=(development,))
    curves = {k: np.stack(v, axis=1) for k, v in development.curves.items()}  # (N, epochs + 1)
    return Condition(name, curves, development.hidden, result.network, development.events,
                     time.perf_counter() - began, result.step, result.history)  # fmt: skip
