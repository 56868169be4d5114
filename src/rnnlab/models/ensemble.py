"""The one ensemble: several trained networks of one config (seeds, say) that predict together.

Wherever rnnlab combines networks it holds them in an :class:`Ensemble`:

- classification and language models (``rnnlab evaluate R1 R2``, ``rnnlab predict``):
  :meth:`Ensemble.mean_predictions`, the mean of the members' predicted distributions;
- translation (``rnnlab evaluate``, ``rnnlab translate --ensemble``): :meth:`Ensemble.encode`,
  :meth:`Ensemble.step` and the forward pass give the logarithm of the mean next-token
  distribution in place of logits (a log-softmax of it changes nothing), so decoding, the loss
  and BLEU work unchanged; the attention weights are the mean of the members' that attend;
- forecasting (:func:`rnnlab.evaluation.forecasting.forecast`): the members' forecast
  distributions are mixed (Gaussian outputs) or their forecasts averaged (point outputs).
"""

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from rnnlab.models.seq2seq import Memory, Seq2Seq


class EnsembleMemory(NamedTuple):
    """The memories of every model of an ensemble, and their decoders' initial states."""

    memories: list[Memory]
    state: list


class Ensemble(nn.Module):
    """Several networks of the same task and sizes that predict together; see the module
    docstring. ``ensemble.models`` are the members, in order."""

    def __init__(self, models: Sequence[nn.Module]) -> None:
        super().__init__()
        models = list(models)
        if not models:
            raise ValueError("an ensemble needs at least one model")
        kinds = {type(m).__name__ for m in models}
        if len(kinds) > 1:
            raise ValueError(f"the models of an ensemble need to be of one kind; got {kinds}")
        if isinstance(models[0], Seq2Seq):
            sizes = {(m.source_embedding.num_embeddings, m.readout.out_features) for m in models}
            if len(sizes) > 1:
                raise ValueError(
                    f"the models of an ensemble need the same vocabularies; got {sizes}"
                )
        self.models = nn.ModuleList(models)
        self.needs_targets = bool(getattr(models[0], "needs_targets", False))

    def __len__(self) -> int:
        return len(self.models)

    # -- classification and language models ----------------------------------------------

    @staticmethod
    def mean_predictions(predictions: Sequence[torch.Tensor]) -> torch.Tensor:
        """The mean of the members' predicted distributions (one tensor per member)."""
        return torch.stack(list(predictions)).mean(0)

    def probabilities(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The mean of the members' softmax distributions on ``x`` (classifiers, evaluation
        mode)."""
        predictions = []
        for model in self.models:
            model.eval()
            predictions.append(torch.softmax(model(x, lengths=lengths)[0], dim=-1))
        return self.mean_predictions(predictions)

    # -- encoder-decoders -------------------------------------------------------------------

    def encode(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> EnsembleMemory:
        memories = [model.encode(x, lengths) for model in self.models]
        return EnsembleMemory(memories, [memory.state for memory in memories])

    def step(self, tokens: torch.Tensor, state: list, memory: EnsembleMemory):
        log_probs, states, weights = [], [], []
        for model, state_k, memory_k in zip(self.models, state, memory.memories):
            logits, new_state, weights_k = model.step(tokens, state_k, memory_k)
            log_probs.append(torch.log_softmax(logits, dim=-1))
            states.append(new_state)
            if weights_k is not None:
                weights.append(weights_k)
        return _log_mean(log_probs), states, torch.stack(weights).mean(0) if weights else None

    def forward(self, x, state=None, lengths=None, targets=None, teacher_forcing: float = 1.0):
        log_probs = [
            torch.log_softmax(model(x, state, lengths, targets, teacher_forcing)[0], dim=-1)
            for model in self.models
        ]
        return _log_mean(log_probs), None


def _log_mean(log_probs: list[torch.Tensor]) -> torch.Tensor:
    """The logarithm of the mean of the distributions whose logarithms are ``log_probs``."""
    return torch.logsumexp(torch.stack(log_probs), dim=0) - torch.log(
        torch.tensor(float(len(log_probs)))
    )


def members(network) -> list[nn.Module]:
    """The networks of ``network``: an ensemble's members, a list's, or the network itself."""
    if isinstance(network, Ensemble):
        return list(network.models)
    return list(network) if isinstance(network, list) else [network]
