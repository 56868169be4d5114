"""Attention: a decoder's weighted look back at every output of an encoder.

At each decoder step a *query* (the decoder's state) scores every encoder output (the *keys*,
which are also the values); a softmax over the valid source positions turns the scores into
weights, and the *context* is the weighted sum of the keys::

    weights[b, s] = softmax_s(score(query[b], keys[b, s]))   over s < lengths[b]
    context[b]    = sum_s weights[b, s] * keys[b, s]

Two scores:

- additive (Bahdanau, Cho & Bengio 2015): ``v . tanh(W_q q + W_k k)``, a one-hidden-layer
  network of the query and the key;
- dot (Luong, Pham & Manning 2015): ``q . W k / sqrt(Q)``; ``W`` is the identity when the
  query and key sizes agree ("dot") and learned otherwise ("general"), and the scale keeps
  the softmax from saturating as the hidden size grows (as in Vaswani et al. 2017).

The keys' half of each score does not depend on the query, so :meth:`prepare` computes it once
per source sentence and every decoder step reuses it.
"""

import math

import torch
from torch import nn


def attend(scores: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor):
    """Context (B, K) and weights (B, S) of ``scores`` (B, S) over ``keys`` (B, S, K), with
    the positions where ``mask`` (B, S) is False given weight exactly 0."""
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return torch.bmm(weights[:, None], keys)[:, 0], weights


class AdditiveAttention(nn.Module):
    """Bahdanau's additive attention; see the module docstring."""

    def __init__(self, query_size: int, key_size: int, attention_size: int) -> None:
        super().__init__()
        self.query_projection = nn.Linear(query_size, attention_size, bias=False)
        self.key_projection = nn.Linear(key_size, attention_size, bias=False)
        self.score = nn.Linear(attention_size, 1, bias=False)

    def prepare(self, keys: torch.Tensor) -> torch.Tensor:
        """The keys' projections (B, S, A), once per source sentence."""
        return self.key_projection(keys)

    def forward(self, query, keys, prepared, mask):
        hidden = torch.tanh(prepared + self.query_projection(query)[:, None])  # (B, S, A)
        return attend(self.score(hidden)[..., 0], keys, mask)


class DotAttention(nn.Module):
    """Luong's dot ("general" when the sizes differ) attention, scaled; see the module
    docstring."""

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.key_projection = (
            nn.Linear(key_size, query_size, bias=False) if key_size != query_size else None
        )
        self.scale = 1 / math.sqrt(query_size)

    def prepare(self, keys: torch.Tensor) -> torch.Tensor:
        """The keys mapped to the query's size (B, S, Q), once per source sentence."""
        return keys if self.key_projection is None else self.key_projection(keys)

    def forward(self, query, keys, prepared, mask):
        scores = torch.bmm(prepared, query[:, :, None])[..., 0] * self.scale  # (B, S)
        return attend(scores, keys, mask)
