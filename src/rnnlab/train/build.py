"""The one place a config becomes a task and a network.

``rnnlab train`` (through :func:`rnnlab.train.trainer.fit_run`), ``evaluate``, ``predict`` and
the replications build what a ``[model]`` and ``[task]`` config describe here, so that every
command makes the same network for the same config and seed.
"""

import torch
from torch import nn

from rnnlab.errors import ConfigError
from rnnlab.models.config import build_model, build_seq2seq
from rnnlab.models.readout import least_squares_highway
from rnnlab.tasks.base import Task
from rnnlab.tasks.registry import build_task
from rnnlab.train.config import RunConfig


def network_for(config: RunConfig, task: Task) -> nn.Module:
    """The network of ``config.model`` for ``task``'s sizes and kind of data, freshly
    initialised from the global torch generator."""
    return build_model(
        config.model, task.input_size, task.output_size,
        tokens=task.tokens, per_sequence=task.per_sequence, seq2seq=task.seq2seq,
    )  # fmt: skip


def token_network(
    config: RunConfig, vocab_size: int, output_size: int, per_sequence: bool
) -> nn.Module:
    """The network of ``config.model`` that reads token ids of a saved vocabulary (no data)."""
    return build_model(
        config.model, vocab_size, output_size, tokens=True, per_sequence=per_sequence
    )


def translator_network(config: RunConfig, source_size: int, target_size: int) -> nn.Module:
    """The encoder-decoder of ``config.model`` between saved vocabularies (no data)."""
    return build_seq2seq(config.model, source_size, target_size)


def build(config: RunConfig, device: str = "cpu") -> tuple[Task, nn.Module]:
    """The task and a freshly initialised network (from the training seed) of a config."""
    task = build_task(config.task)
    torch.manual_seed(config.training.seed)
    network = network_for(config, task).to(device)
    training = config.training
    if (task.per_sequence or task.seq2seq) and training.bptt != "full":
        raise ConfigError(
            f"task {task.name!r} reads whole sequences (a target per sequence, or a source and "
            f"its translation); it needs training.bptt = 'full', got {training.bptt!r}"
        )
    if training.teacher_forcing < 1 and not task.seq2seq:
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
