"""The one place a config becomes a task and a network.

``rnnlab train`` (through :func:`rnnlab.train.trainer.fit_run`), ``evaluate``, ``predict`` and
the replications build what a ``[model]`` and ``[task]`` config describe here, so that every
command makes the same network for the same config and seed.
"""

import torch
from torch import nn

from rnnlab.errors import ConfigError
from rnnlab.models.config import build_model
from rnnlab.models.readout import least_squares_highway
from rnnlab.tasks.base import Task
from rnnlab.tasks.registry import TASKS, build_task
from rnnlab.train.config import RunConfig


def network_for(config: RunConfig, task: Task) -> nn.Module:
    """The network of ``config.model`` for ``task``'s sizes and kinds of inputs and targets,
    freshly initialised from the global torch generator."""
    return build_model(
        config.model, task.input_size, task.output_size,
        inputs=task.inputs, targets=task.targets,
    )  # fmt: skip


def saved_network(config: RunConfig, input_size: int, output_size: int) -> nn.Module:
    """The network of ``config.model`` for the kinds of inputs and targets that the task of
    ``config.task`` declares, between sizes read from a run's saved vocabularies (the task's
    data is not read)."""
    task_type = TASKS[config.task.name][1]
    return build_model(
        config.model, input_size, output_size,
        inputs=task_type.inputs, targets=task_type.targets,
    )  # fmt: skip


def build(config: RunConfig, device: str = "cpu") -> tuple[Task, nn.Module]:
    """The task and a freshly initialised network (from the training seed) of a config."""
    task = build_task(config.task)
    torch.manual_seed(config.training.seed)
    network = network_for(config, task).to(device)
    training = config.training
    if task.targets != "per_step" and training.bptt != "full":
        raise ConfigError(
            f"task {task.name!r} reads whole sequences (a target per sequence, or a source and "
            f"its translation); it needs training.bptt = 'full', got {training.bptt!r}"
        )
    if training.teacher_forcing < 1 and task.targets != "sequence":
        if not task.autoregressive:
            raise ConfigError(
                f"training.teacher_forcing < 1 feeds predictions back as inputs, which needs a "
                f"next-step prediction task; task {task.name!r} is not one"
            )
        if config.model.bidirectional:
            raise ConfigError("training.teacher_forcing < 1 needs model.bidirectional = false")
    if config.model.highway is not None and (task.stream or training.bptt != "full"):
        raise ConfigError(
            "model.highway reads the last inputs of a sequence; it needs independent sequences "
            "and training.bptt = 'full' (the inputs before a chunk are not carried)"
        )
    if training.label_smoothing and task.loss != "cross_entropy":
        raise ConfigError(
            f"training.label_smoothing applies to classification (cross-entropy); task "
            f"{task.name!r} uses {task.loss!r}"
        )
    if task.stream and config.model.bidirectional:
        raise ConfigError(
            f"task {task.name!r} is a stream read in order; a bidirectional model would see the "
            f"future it must predict (set model.bidirectional = false)"
        )
    initialise(task, network)
    return task, network


def initialise(task: Task, network: nn.Module) -> None:
    """Set a fresh network's parameters from the training data where a better start than
    random is known: a forecaster's highway (``model.highway`` with the task's
    ``highway_init = "least_squares"``) by least squares
    (:func:`rnnlab.models.readout.least_squares_highway`)."""
    config = getattr(task, "config", None)
    if getattr(network, "highway", None) is None:
        return
    if getattr(config, "highway_init", None) != "least_squares":
        return
    gaussian = config.output == "gaussian"
    least_squares_highway(network, task.splits()["train"], task.steps, gaussian)
