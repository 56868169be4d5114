"""An actor-critic policy whose memory is any rnnlab layer family, or none (the control).

::

    observation (B, T, I) -> memory: Elman | Jordan | GRU | LSTM | CTRNN (B, T, H)
                                     or feed-forward Linear + tanh    (B, T, H)
                          -> actor: Linear(H, A): categorical logits, or Gaussian means
                                    with a learned, state-independent log sd
                          -> critic: Linear(H, head) + tanh + Linear(head, 1)

The state is a tuple of tensors, ``(h,)`` or ``(h, c)``, each (L, B, H) as the layers' (empty
for the feed-forward policy). Resetting it is part of :meth:`Policy.step` (``starts`` marks
the environments whose episode begins at this step), so an episode can never start from the
last one's memory — the pitfall stable-baselines3's ``predict(episode_start=...)`` leaves to
the user. Initialisation follows the PPO implementations' (orthogonal heads, the actor's gain
0.01, the critic's 1; Andrychowicz et al. 2021).
"""

import math

import torch
from torch import nn

from rnnlab.layers import CTRNN, GRU, LSTM, Elman, Jordan, state_from_tensors, state_tensors
from rnnlab.rl.config import PolicyConfig

State = tuple[torch.Tensor, ...]


def memory_layer(config: PolicyConfig, input_size: int) -> nn.Module | None:
    """The rnnlab layer of ``config.kind`` (None for ``feedforward``)."""
    H, L = config.hidden_size, config.num_layers
    if config.kind == "elman":
        return Elman(input_size, H, L)
    if config.kind == "jordan":
        return Jordan(input_size, H, H, L, output_nonlinearity="tanh")
    if config.kind == "gru":
        return GRU(input_size, H, L)
    if config.kind == "lstm":
        return LSTM(input_size, H, L)
    if config.kind == "ctrnn":
        return CTRNN(input_size, H, L)
    return None


class Policy(nn.Module):
    """Actor and critic over a memory (see the module docstring).

    Args:
        config: ``[policy]``.
        observation_size: I.
        action: ``("discrete", n)`` or ``("continuous", dimensions)``.
    """

    def __init__(self, config: PolicyConfig, observation_size: int, action: tuple[str, int]):
        super().__init__()
        self.kind, self.action_size = action
        self.memory = memory_layer(config, observation_size)
        H = config.hidden_size
        width = H
        if self.memory is None:
            self.encoder = nn.Sequential(nn.Linear(observation_size, H), nn.Tanh())
            _orthogonal(self.encoder[0], math.sqrt(2))
        self.actor = nn.Linear(width, self.action_size)
        _orthogonal(self.actor, 0.01)
        self.critic = nn.Sequential(
            nn.Linear(width, config.head_size), nn.Tanh(), nn.Linear(config.head_size, 1)
        )
        _orthogonal(self.critic[0], math.sqrt(2))
        _orthogonal(self.critic[2], 1.0)
        if self.kind == "continuous":
            self.log_std = nn.Parameter(torch.zeros(self.action_size))

    @property
    def recurrent(self) -> bool:
        return self.memory is not None

    def initial_state(self, batch_size: int) -> State:
        """The state an episode starts from (the layer's own initial state), detached: the
        rollouts store it, so a CTRNN's learned initial state is not trained by PPO."""
        if self.memory is None:
            return ()
        return tuple(t.detach() for t in state_tensors(self.memory.initial_state(batch_size)))

    def reset(self, state: State, starts: torch.Tensor) -> State:
        """``state`` with the environments where ``starts`` (B,) is true set to the initial
        state."""
        if self.memory is None or not bool(starts.any()):
            return state
        fresh = self.initial_state(len(starts))
        where = starts.view(1, -1, 1)
        return tuple(torch.where(where, f, s) for f, s in zip(fresh, state))

    def features(self, observations: torch.Tensor, state: State, lengths=None):
        """(B, T, H) features of (B, T, I) observations from ``state``, and the final state."""
        if self.memory is None:
            return self.encoder(observations), ()
        outputs, final = self.memory(observations, state_from_tensors(state), lengths=lengths)
        return outputs, state_tensors(final)

    def distribution(self, features: torch.Tensor) -> torch.distributions.Distribution:
        """The action distribution of (..., H) features; its log_prob and entropy are per
        action (summed over a Gaussian's dimensions)."""
        out = self.actor(features)
        if self.kind == "discrete":
            return torch.distributions.Categorical(logits=out, validate_args=False)
        std = self.log_std.exp().expand_as(out)
        normal = torch.distributions.Normal(out, std, validate_args=False)
        return torch.distributions.Independent(normal, 1, validate_args=False)

    def value(self, features: torch.Tensor) -> torch.Tensor:
        return self.critic(features).squeeze(-1)

    def step(self, observations: torch.Tensor, state: State, starts: torch.Tensor):
        """One step of B environments: ``observations`` (B, I), ``starts`` (B,) bool.

        Returns ``(distribution over (B,), value (B,), state)``: the state is reset where an
        episode starts, then advanced by this observation.
        """
        state = self.reset(state, starts)
        features, state = self.features(observations[:, None], state)
        features = features[:, 0]
        return self.distribution(features), self.value(features), state

    def greedy(self, distribution) -> torch.Tensor:
        """The deterministic action: the likeliest class, or the Gaussian's mean."""
        if self.kind == "discrete":
            return distribution.probs.argmax(-1)
        return distribution.mean


def _orthogonal(layer: nn.Linear, gain: float) -> None:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
