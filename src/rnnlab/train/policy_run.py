"""A policy run in a run directory: ``rnnlab train`` / ``resume`` / ``evaluate`` / ``play`` for
configs with an ``[environment]`` (:mod:`rnnlab.rl.config`).

The loop is :func:`rnnlab.rl.trainer.train_policy`; this module gives it what every run has:
``metrics.jsonl`` (one record per ``ppo.log_every`` updates, ``step`` = the update count; and
the final evaluation's), checkpoints every ``ppo.checkpoint_every`` updates and at the end or
on a stop (the policy's weights; the optimiser, the normalisers' moments and the torch RNG in
``training.safetensors``), and resume from any of them. A resumed run continues the weights,
optimiser, normalisers, learning-rate schedule and update count exactly; its environments
restart from fresh episodes (their inner state is not checkpointed), so it is not bitwise the
run that was not interrupted.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnlab.errors import RnnlabError
from rnnlab.rl.config import PolicyRunConfig
from rnnlab.rl.evaluation import PolicyEvaluation, evaluate_policy
from rnnlab.rl.trainer import PPOTrainer, train_policy
from rnnlab.train.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    optimizer_state_from_tensors,
    optimizer_state_to_tensors,
    save_checkpoint,
)
from rnnlab.train.run_directory import RunDirectory


@dataclass(frozen=True)
class PolicyFitResult:
    """How a policy run ended: ``reason`` (finished, interrupted), the update count and
    environment steps, the wall-clock and CPU seconds of this process (training and the
    final evaluation), and the final evaluation (None when interrupted)."""

    reason: str
    step: int
    env_steps: int
    seconds: float
    cpu_seconds: float
    evaluation: PolicyEvaluation | None

    @property
    def metrics(self) -> dict:
        if self.evaluation is None:
            return {}
        return {
            "mean_return": self.evaluation.mean_return,
            "episodes": len(self.evaluation.returns),
        }


def fit_policy_run(run: RunDirectory, config: PolicyRunConfig, *, resume: bool = False,
                   checkpoint: str | None = None, echo: Callable[[str], None] | None = None,
                   should_stop: Callable[[], bool] = lambda: False) -> PolicyFitResult:  # fmt: skip
    """Train the policy of ``config`` in ``run`` (see the module docstring)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    with run.lock():
        trainer = PPOTrainer(config)
        if resume and checkpoint is None and latest_checkpoint(run.checkpoints) is None:
            run.truncate_metrics(-1)  # stopped before its first checkpoint: start it over
            if echo:
                echo(f"{run.path} has no checkpoint yet: starting it again from update 0")
        elif resume:
            load_trainer(trainer, run, checkpoint)
            run.truncate_metrics(trainer.updates)
            if echo:
                echo(f"resumed at update {trainer.updates} ({trainer.env_steps} env steps)")
        ppo = config.ppo

        def on_update(trainer: PPOTrainer, record: dict) -> None:
            if trainer.updates % ppo.log_every == 0 or trainer.updates == trainer.total_updates:
                run.append_metrics({
                    "step": trainer.updates, "wall_time": time.time(),
                    "cpu_seconds": time.process_time() - cpu_start, **record,
                })  # fmt: skip
                if echo:
                    echo(_line(record, trainer.total_updates))
            if trainer.updates % ppo.checkpoint_every == 0:
                save_trainer(trainer, run)

        reason = train_policy(trainer, on_update, should_stop)
        save_trainer(trainer, run)
        evaluation = None
        if reason == "finished":
            evaluation = evaluate_policy(
                trainer.policy, trainer.normaliser, config.environment, ppo.eval_episodes
            )
            run.append_metrics({
                "step": trainer.updates, "env_steps": trainer.env_steps,
                "eval_mean_return": evaluation.mean_return,
                "eval_episodes": len(evaluation.returns),
            })  # fmt: skip
        trainer.envs.close()
    return PolicyFitResult(
        reason, trainer.updates, trainer.env_steps, time.perf_counter() - start,
        time.process_time() - cpu_start, evaluation,
    )  # fmt: skip


def _line(record: dict, total: int) -> str:
    text = f"update {record['update']}/{total}  env steps {record['env_steps']}"
    if "episode_return" in record:
        text += f"  return {record['episode_return']:.4g}"
    return text + f"  {record['steps_per_second']:.0f} steps/s"


def save_trainer(trainer: PPOTrainer, run: RunDirectory) -> Path:
    """Checkpoint ``trainer`` in ``run`` (named after its update count)."""
    tensors, optimizer_meta = optimizer_state_to_tensors(trainer.optimizer.state_dict())
    for name, moments in (("observations", trainer.normaliser.moments),
                          ("rewards", trainer.rewards.moments)):  # fmt: skip
        for key, value in moments.state().items():
            tensors[f"{name}.{key}"] = torch.as_tensor(np.asarray(value, np.float64))
    tensors["rng"] = torch.get_rng_state()
    meta = {
        "step": trainer.updates,
        "env_steps": trainer.env_steps,
        "optimizer": optimizer_meta,
        "recent_returns": list(trainer.recent_returns),
        "recent_lengths": list(trainer.recent_lengths),
    }
    return save_checkpoint(
        run.checkpoints, trainer.updates, trainer.policy.state_dict(), tensors, meta,
        keep=trainer.config.ppo.keep_checkpoints,
    )  # fmt: skip


def load_trainer(trainer: PPOTrainer, run: RunDirectory, checkpoint: str | None = None) -> None:
    """Set ``trainer`` to a checkpoint of ``run`` (the latest if ``checkpoint`` is None)."""
    loaded = _load(run, checkpoint)
    trainer.policy.load_state_dict(loaded.model_state)
    state = loaded.training_state
    trainer.optimizer.load_state_dict(optimizer_state_from_tensors(state, loaded.meta["optimizer"]))
    _load_moments(trainer, state)
    torch.set_rng_state(state["rng"])
    trainer.updates = int(loaded.meta["step"])
    trainer.recent_returns.extend(loaded.meta["recent_returns"])
    trainer.recent_lengths.extend(loaded.meta["recent_lengths"])


def _load(run: RunDirectory, checkpoint: str | None):
    if checkpoint is None and latest_checkpoint(run.checkpoints) is None:
        raise RnnlabError(f"{run.path} has no checkpoint yet")
    return load_checkpoint(run.checkpoints, checkpoint)


def _load_moments(trainer: PPOTrainer, state: dict) -> None:
    for name, moments in (("observations", trainer.normaliser.moments),
                          ("rewards", trainer.rewards.moments)):  # fmt: skip
        moments.load({key: state[f"{name}.{key}"].numpy() for key in ("mean", "var", "count")})


def load_policy(run: RunDirectory, checkpoint: str | None = None) -> PPOTrainer:
    """The trainer of a policy run with the weights and normaliser of a checkpoint (the
    latest by default), for evaluation and pictures."""
    config = run.config()
    if not isinstance(config, PolicyRunConfig):
        raise RnnlabError(f"{run.path} is not a policy run (its config has no [environment])")
    trainer = PPOTrainer(config)
    loaded = _load(run, checkpoint)
    trainer.policy.load_state_dict(loaded.model_state)
    _load_moments(trainer, loaded.training_state)
    trainer.updates = int(loaded.meta["step"])
    trainer.envs.close()
    return trainer


def evaluate_policy_run(run: RunDirectory, checkpoint: str | None = None,
                        episodes: int | None = None, seed: int = 10_000) -> dict:  # fmt: skip
    """``mean_return`` and ``episodes`` (and more: :meth:`PolicyEvaluation.metrics`) of a
    policy run's deterministic policy over ``episodes`` seeded episodes (default
    ``ppo.eval_episodes``)."""
    trainer = load_policy(run, checkpoint)
    count = episodes or trainer.config.ppo.eval_episodes
    evaluation = evaluate_policy(
        trainer.policy, trainer.normaliser, trainer.config.environment, count, seed
    )
    return {"step": trainer.updates, "env_steps": trainer.env_steps, **evaluation.metrics()}
