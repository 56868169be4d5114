"""What the five simulations share: the network, the two training modes, checks and results.

Two modes, as the replication spec asks (classic_experiments.md, section 1.0):

- ``faithful``: Elman's 1990 procedure. Logistic hidden and output units, context units that
  start at 0.5, squared error, an update after every input with the gradient truncated after
  one step (the context is an input), by plain SGD (:mod:`rnnlab.train.online`). Elman did
  not report the learning rate or the initial weights; we use the spec's calibration: weights
  and biases from U(-0.5, 0.5) and a rate of 0.1 on the gradient of ½ Σ (t - o)².
- ``modern``: tanh hidden units, cross-entropy (logistic outputs for bit vectors, softmax for
  one-hot words), Adam, truncated BPTT over windows of parallel streams, through the standard
  trainer (:func:`rnnlab.train.fit`).
"""

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rnnlab.models.config import build_model
from rnnlab.models.readout import Network
from rnnlab.train.build import build
from rnnlab.train.config import parse_config
from rnnlab.train.online import train_online
from rnnlab.train.run_directory import RunDirectory
from rnnlab.train.trainer import fit

MODES = ("faithful", "modern")


@dataclass(frozen=True)
class Check:
    """One pass/fail check: what we measured beside what the paper reported."""

    name: str
    value: float
    paper: str  # the paper's value, or "" where it gave none
    criterion: str  # when the check passes, in words
    passed: bool
    required: bool = True  # False for the stretch goals the spec does not require


@dataclass
class Outcome:
    """One simulation, one mode, one seed: checks, metrics, what the figures need."""

    checks: list[Check]
    metrics: dict[str, float]
    figures: dict = field(default_factory=dict)
    seconds: float = 0.0


def faithful_network(input_size: int, hidden_size: int, output_size: int, seed: int,
                     spread: float = 0.5) -> Network:  # fmt: skip
    """Elman's network: logistic hidden units (context 0.5), a logistic readout, and every
    weight and bias drawn from U(-spread, spread)."""
    model = {"kind": "elman", "hidden_size": hidden_size, "nonlinearity": "sigmoid"}
    config = parse_config({"model": model, "task": {"name": "letters"}})
    torch.manual_seed(seed)
    network = build_model(config.model, input_size, output_size)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.uniform_(-spread, spread, generator=generator)
    return network


def train_faithful(network: Network, x: torch.Tensor, y: torch.Tensor, passes: int,
                   lr: float = 0.1) -> list[float]:  # fmt: skip
    """Online updates over ``passes`` passes of the stream x (T, I) -> y (T, O), the context
    carried from the end of one pass into the next (the stream wraps around). ``lr`` applies
    to the gradient of ½ Σ (t - o)², Elman's error; returns the mean loss of each pass."""
    output_size = y.shape[1]
    kernel_lr = lr * output_size / 2  # the kernel's loss is the mean of (t - o)² over units
    state, losses = None, []
    for _ in range(passes):
        loss, state = train_online(network.layer, network.readout, x, y, kernel_lr, state=state)
        losses.append(float(loss.mean()))
    return losses


def train_modern(out: Path, model: dict, task: dict, training: dict) -> Network:
    """Train through the standard trainer in ``out`` and return the trained network."""
    config = parse_config({"model": model, "task": task, "training": {
        "optimizer": "adam", "bptt": "truncated", "eval_every": 10**6,
        "checkpoint_every": 10**6, "keep_checkpoints": 1, **training}})  # fmt: skip
    task, network = build(config)
    return fit(network, task, config.training, RunDirectory.create(out, config)).network


@torch.no_grad()
def run_stream(network: Network, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Raw outputs (T, O) and hidden states (T, H) of ``network`` over one stream (T, I)."""
    network.eval()
    trace = network.layer.record(x[None])
    hidden = trace.hidden[-1, 0]  # (T, H)
    return network.readout(hidden).numpy(), hidden.numpy()


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-values))


def timed(function, *args, **kwargs) -> Outcome:
    start = time.perf_counter()
    outcome = function(*args, **kwargs)
    outcome.seconds = time.perf_counter() - start
    return outcome


def summarise(outcomes: list[Outcome]) -> dict:
    """One mode of one simulation over seeds: checks with mean, sd, per-seed values and pass
    rate; metrics with mean and sd; total seconds."""
    checks = []
    for k, first in enumerate(outcomes[0].checks):
        values = [o.checks[k].value for o in outcomes]
        passes = [o.checks[k].passed for o in outcomes]
        checks.append({
            "name": first.name, "value": statistics.fmean(values),
            "sd": statistics.stdev(values) if len(values) > 1 else 0.0, "values": values,
            "paper": first.paper, "criterion": first.criterion,
            "passed": sum(passes) / len(passes) >= (0.7 if len(passes) > 1 else 1.0),
            "pass_rate": sum(passes) / len(passes), "required": first.required,
        })  # fmt: skip
    metrics = {}
    for name in outcomes[0].metrics:
        values = [o.metrics[name] for o in outcomes]
        metrics[name] = {"mean": statistics.fmean(values),
                         "sd": statistics.stdev(values) if len(values) > 1 else 0.0}  # fmt: skip
    return {"checks": checks, "metrics": metrics, "seconds": sum(o.seconds for o in outcomes)}
