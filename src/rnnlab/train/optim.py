"""The optimiser and learning-rate schedule a ``[training]`` config names."""

import math

import torch

from rnnlab.train.config import TrainingConfig


def build_optimizer(parameters, config: TrainingConfig) -> torch.optim.Optimizer:
    """SGD (with momentum), Adam, AdamW or RMSprop, with the config's rate and decay."""
    common = dict(lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, momentum=config.momentum, **common)
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, **common)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, **common)
    return torch.optim.RMSprop(parameters, momentum=config.momentum, **common)


def lr_factor(step: int, config: TrainingConfig) -> float:
    """The multiple of ``lr`` used for update ``step`` (0-based): warm-up, then the schedule."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    step -= config.warmup_steps
    if config.schedule == "cosine":
        span = max(1, config.max_steps - config.warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(step, span) / span))
    if config.schedule == "step":
        return config.gamma ** (step // config.step_size)
    return 1.0


def build_scheduler(optimizer, config: TrainingConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR over :func:`lr_factor`; its state is plain numbers, safe to checkpoint."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, config))
