"""Gymnasium environments as a policy run's config describes them, with hidden state.

:func:`make_environment` builds one environment from ``[environment]``: a registered id
(``popgym-...`` ids import popgym, which registers them), a discrete observation one-hot,
:class:`KeepObservation` to hide parts of the state (CartPole's velocities, Pendulum's angular
velocity), and an optional frame stack (the positive control: two frames of ``[x, θ]`` carry
the velocities). :func:`make_vector_environment` steps ``num_envs`` copies together, with
gymnasium 1.x's default next-step autoreset (:mod:`rnnlab.rl.rollout` handles it).
"""

import importlib

import numpy as np

from rnnlab.errors import ConfigError
from rnnlab.rl.config import EnvironmentConfig


def _gymnasium():
    try:
        return importlib.import_module("gymnasium")
    except ImportError:
        raise ConfigError("policy runs need gymnasium: pip install 'rnnlab[rl]'") from None


def _keep_observation_class():
    gym = _gymnasium()

    class KeepObservation(gym.ObservationWrapper):
        """Only the observation's entries at ``indices`` (a Box observation): the rest of the
        state is hidden from the agent."""

        def __init__(self, env, indices: list[int]) -> None:
            super().__init__(env)
            space = env.observation_space
            if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
                raise ConfigError(f"environment.observe needs a flat Box observation; got {space}")
            size = space.shape[0]
            if max(indices) >= size:
                raise ConfigError(
                    f"environment.observe: indices must be below the observation's size "
                    f"{size}; got {list(indices)}"
                )
            self.indices = np.asarray(indices)
            self.observation_space = gym.spaces.Box(
                space.low[self.indices], space.high[self.indices], dtype=space.dtype
            )

        def observation(self, observation):
            return observation[self.indices]

    return KeepObservation


def make_environment(config: EnvironmentConfig, render_mode: str | None = None):
    """One environment of ``config``: made, one-hot or flattened, masked, stacked."""
    gym = _gymnasium()
    if config.id.startswith("popgym-"):
        try:
            importlib.import_module("popgym")
        except ImportError:
            raise ConfigError(f"{config.id} needs popgym: pip install popgym") from None
    options = (
        {} if config.max_episode_steps is None else {"max_episode_steps": config.max_episode_steps}
    )
    if render_mode is not None:
        options["render_mode"] = render_mode
    try:
        env = gym.make(config.id, **options)
    except gym.error.Error as error:
        raise ConfigError(f"environment.id {config.id!r}: {error}") from None
    if (
        not isinstance(env.observation_space, gym.spaces.Box)
        or len(env.observation_space.shape) != 1
    ):
        env = gym.wrappers.FlattenObservation(env)  # Discrete: one-hot; tuples: concatenated
    if config.observe is not None:
        env = _keep_observation_class()(env, config.observe)
    if config.frame_stack > 1:
        env = gym.wrappers.FrameStackObservation(env, config.frame_stack)
        env = gym.wrappers.FlattenObservation(env)
    action = env.action_space
    if not isinstance(action, gym.spaces.Discrete | gym.spaces.Box) or (
        isinstance(action, gym.spaces.Box) and len(action.shape) != 1
    ):
        raise ConfigError(
            f"policies act in a Discrete or a flat Box action space; {config.id} has {action}"
        )
    return env


def make_vector_environment(config: EnvironmentConfig, num_envs: int | None = None):
    """``num_envs`` (default ``config.num_envs``) environments stepped together in this
    process (gymnasium's SyncVectorEnv, next-step autoreset)."""
    gym = _gymnasium()
    count = config.num_envs if num_envs is None else num_envs
    return gym.vector.SyncVectorEnv([lambda: make_environment(config) for _ in range(count)])


def action_kind(space) -> tuple[str, int]:
    """``("discrete", n)`` or ``("continuous", dimensions)`` of an action space."""
    gym = _gymnasium()
    if isinstance(space, gym.spaces.Discrete):
        return "discrete", int(space.n)
    return "continuous", int(space.shape[0])
