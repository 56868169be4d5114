"""A policy run's configuration: one TOML file with ``[policy]``, ``[environment]`` and ``[ppo]``.

Each section is a typed, frozen pydantic model (unknown keys are errors, defaults live only
here). A config is a policy run's, not a supervised run's (``[model]``, ``[task]``), exactly
when it has an ``[environment]`` section (:func:`is_policy_config`).

Example (``examples/cartpole_hidden_velocity.toml``)::

    [policy]
    kind = "gru"
    hidden_size = 64

    [environment]
    id = "CartPole-v1"
    observe = [0, 2]        # cart position and pole angle: both velocities hidden
    num_envs = 8

    [ppo]
    total_steps = 100000
    rollout_length = 32
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rnnlab.errors import ConfigError

MAX_SEED = 2**31 - 1

PolicyKind = Literal["elman", "jordan", "gru", "lstm", "ctrnn", "feedforward"]


class PolicyConfig(BaseModel):
    """``[policy]``: the policy's memory (an rnnlab layer family, or none) and its width."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kind: PolicyKind = Field(
        "gru", description="the memory's layer family, or 'feedforward' (no memory: the control)"
    )
    hidden_size: int = Field(64, ge=1, description="units of the memory (or the hidden layer)")
    num_layers: int = Field(1, ge=1, description="stacked recurrent layers")
    head_size: int = Field(64, ge=1, description="units of the critic's hidden layer")


class EnvironmentConfig(BaseModel):
    """``[environment]``: a registered gymnasium id, what of its observation is kept, and how
    many copies step together."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str = Field(description="a registered gymnasium id; 'popgym-...' ids import popgym")
    observe: list[int] | None = Field(
        None, description="indices of the (flat) observation that the agent sees; all if unset"
    )
    frame_stack: int = Field(1, ge=1, description="the last k observations, concatenated")
    num_envs: int = Field(8, ge=1, description="environments stepped together")
    max_episode_steps: int | None = Field(None, ge=1, description="override the time limit")

    @model_validator(mode="after")
    def _check(self) -> "EnvironmentConfig":
        if self.observe is not None:
            if not self.observe:
                raise ValueError("observe must keep at least one index (or be left out)")
            if len(set(self.observe)) != len(self.observe) or min(self.observe) < 0:
                raise ValueError(f"observe must hold distinct indices >= 0; got {self.observe}")
        return self


class PPOConfig(BaseModel):
    """``[ppo]``: proximal policy optimisation (Schulman et al. 2017) with GAE (Schulman et
    al. 2016), sequence minibatches and truncated BPTT over rollout chunks."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    seed: int = Field(0, ge=0, le=MAX_SEED, description="initialisation, sampling, env seeds")
    total_steps: int = Field(100_000, ge=1, description="environment steps (all envs) to train")
    rollout_length: int = Field(32, ge=1, description="steps per environment per update")
    chunk_length: int | None = Field(
        None, ge=1, description="BPTT chunk (steps); the whole rollout if unset"
    )
    epochs: int = Field(10, ge=1, description="passes over each rollout")
    minibatches: int = Field(1, ge=1, description="minibatches (of sequences) per pass")
    lr: float = Field(1e-3, gt=0, description="Adam's learning rate")
    anneal_lr: bool = Field(True, description="the learning rate falls linearly to 0")
    gamma: float = Field(0.99, gt=0, le=1, description="discount")
    gae_lambda: float = Field(0.95, ge=0, le=1, description="GAE's lambda")
    clip: float = Field(0.2, gt=0, description="the ratio's clip range")
    value_clip: float | None = Field(
        None, gt=0, description="clip the value's change (as the ratio); none if unset"
    )
    value_coef: float = Field(0.5, ge=0, description="weight of the value loss")
    entropy_coef: float = Field(0.0, ge=0, description="weight of the entropy bonus")
    max_grad_norm: float = Field(0.5, gt=0, description="clip the gradient norm")
    normalise_observations: bool = Field(True, description="running mean and variance")
    normalise_rewards: bool = Field(True, description="by the running sd of the return")
    eval_episodes: int = Field(20, ge=1, description="deterministic episodes at the end")
    log_every: int = Field(1, ge=1, description="updates between metrics records")
    checkpoint_every: int = Field(20, ge=1, description="updates between checkpoints")
    keep_checkpoints: int = Field(3, ge=1, description="checkpoints kept on disk")

    @model_validator(mode="after")
    def _check(self) -> "PPOConfig":
        if self.chunk_length is not None and self.chunk_length > self.rollout_length:
            raise ValueError(
                f"chunk_length ({self.chunk_length}) cannot exceed rollout_length "
                f"({self.rollout_length})"
            )
        return self


class PolicyRunConfig(BaseModel):
    """A whole policy run: the three sections."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    policy: PolicyConfig = PolicyConfig()
    environment: EnvironmentConfig
    ppo: PPOConfig = PPOConfig()

    @model_validator(mode="after")
    def _check(self) -> "PolicyRunConfig":
        if self.ppo.minibatches > self.environment.num_envs * self.ppo.rollout_length:
            raise ValueError(
                f"ppo.minibatches ({self.ppo.minibatches}) exceeds the steps of a rollout "
                f"({self.environment.num_envs} envs x {self.ppo.rollout_length})"
            )
        return self


def is_policy_config(data: dict) -> bool:
    """Whether a config table describes a policy run (it has ``[environment]``)."""
    return isinstance(data, dict) and "environment" in data


def parse_policy_config(data: dict, source: str = "config") -> PolicyRunConfig:
    """Validate a policy config table; pydantic's first error becomes one ConfigError that
    names the key, what was expected and what was got."""
    try:
        return PolicyRunConfig.model_validate(data)
    except ValidationError as error:
        errors = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        if first["type"] == "extra_forbidden":
            section = first["loc"][0] if len(first["loc"]) > 1 else None
            fields = (
                PolicyRunConfig.model_fields[section].annotation.model_fields
                if section in PolicyRunConfig.model_fields
                else PolicyRunConfig.model_fields
            )
            raise ConfigError(
                f"{source}: unknown key {where!r}; valid: {', '.join(fields)}"
            ) from None
        if first["type"] == "missing":
            raise ConfigError(f"{source}: {where} is required but missing") from None
        message = first["msg"].removeprefix("Value error, ")
        got = first.get("input")
        detail = "" if first["type"] == "value_error" else f"; got {got!r}"
        raise ConfigError(f"{source}: {where}: {message}{detail}") from None
