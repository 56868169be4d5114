"""The one ensemble: N networks of one architecture, trained at once and used together.

Cognitive modellers train the same small network as many "subjects" with different seeds; a
practitioner averages a few seeds' predictions. :class:`Ensemble` serves both:

- **Training at once.** ``Ensemble(make, n)`` builds n members with ``make()`` (each its own
  initialisation; ``seeds=`` gives each its own seed) and stacks their parameters: every
  parameter of the ensemble is the members' parameter of the same name, stacked to (N, ...).
  ``ensemble(x, state, lengths)`` runs every member on x (B, T, I), shared by all, or on
  (N, B, T, I), one input per member, and returns outputs and states with N first: outputs
  (N, B, T, ...), states (N, L*D, B, H). :func:`rnnlab.train.fit` trains it with the sum of the
  members' losses, so each member's gradient is its own, and clips, skips and stops members
  one by one.
- **Members in and out.** ``ensemble.member(k)`` is a plain network with member k's weights;
  ``Ensemble.from_members(networks)`` stacks trained networks; ``load_state_dict`` of N plain
  state dicts stacked (:meth:`stack_state_dicts`) fills one.
- **Predicting together.** Classification and language models: :meth:`mean_probabilities`, the
  mean of the members' predicted distributions; translation: :meth:`encode`, :meth:`step` and
  :meth:`log_mean_forward` give the logarithm of the mean next-token distribution in place of
  logits, so decoding, the loss and BLEU work unchanged (the attention weights are the mean of
  the members' that attend); forecasting (:func:`rnnlab.evaluation.forecasting.forecast`):
  the members' forecast distributions are mixed, or their forecasts averaged.

An ensemble of rnnlab layers whose family has a member kernel (``rnnlab.layers.MEMBER_KERNELS``:
one compiled loop for all members) runs on it
(:meth:`rnnlab.layers.RecurrentLayer.unroll_members`; for a layer and a readout
:meth:`rnnlab.models.readout.Network.unroll_members`); everything else runs the members one
after another (:meth:`Ensemble.forward_members`), each through ``torch.func.functional_call``
on its slice of the stacked parameters: the reference, obviously correct for any module, and
what the tests compare the member kernels with.
"""

import copy
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import nn
from torch.func import functional_call

from rnnlab.models.seq2seq import Memory, Seq2Seq


class EnsembleMemory(NamedTuple):
    """The memories of every model of an ensemble, and their decoders' initial states."""

    memories: list[Memory]
    state: list


class Ensemble(nn.Module):
    """N independent networks of one architecture with stacked parameters; see the module
    docstring.

    Args:
        make: a function of no arguments that returns a fresh network (a layer such as
            ``lambda: rnnlab.Elman(3, 20)``, or a model).
        n: the number of members.
        seeds: optional, one seed per member: member k is made after
            ``torch.manual_seed(seeds[k])``, so it is the network ``make()`` gives alone from
            that seed. Without seeds the members are made one after another from the global
            generator.
    """

    def __init__(
        self, make: Callable[[], nn.Module], n: int, *, seeds: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        if isinstance(make, nn.Module) or not callable(make):
            raise TypeError(
                f"make must be a function that returns a fresh network, such as "
                f"lambda: rnnlab.GRU(3, 20); got {type(make).__name__} (to stack networks "
                f"you have, use Ensemble.from_members)"
            )
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int (the number of members); got {n!r}")
        if seeds is not None and len(seeds) != n:
            raise ValueError(f"seeds must give one seed per member ({n}); got {len(seeds)}")
        members = []
        for k in range(n):
            if seeds is not None:
                torch.manual_seed(int(seeds[k]))
            members.append(make())
        self._stack_members(members)

    @classmethod
    def from_members(cls, members: Sequence[nn.Module]) -> "Ensemble":
        """An ensemble of copies of ``members``' weights (trained networks, say)."""
        ensemble = cls.__new__(cls)
        nn.Module.__init__(ensemble)
        ensemble._stack_members(list(members))
        return ensemble

    def _stack_members(self, members: list[nn.Module]) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        first = members[0]
        if not isinstance(first, nn.Module):
            raise TypeError(f"members must be torch.nn.Module; got {type(first).__name__}")
        kinds = {type(m).__name__ for m in members}
        if len(kinds) > 1:
            raise ValueError(f"the members of an ensemble need to be of one kind; got {kinds}")
        shapes = {name: tuple(v.shape) for name, v in first.state_dict().items()}
        for k, member in enumerate(members[1:], start=1):
            other = {name: tuple(v.shape) for name, v in member.state_dict().items()}
            if other != shapes:
                differ = sorted(set(other.items()) ^ set(shapes.items()))[:3]
                raise ValueError(
                    f"the members of an ensemble need the same parameters; member {k} differs "
                    f"from member 0 in {differ}"
                )
        if isinstance(first, Seq2Seq):
            sizes = {(m.source_embedding.num_embeddings, m.readout.out_features) for m in members}
            if len(sizes) > 1:
                raise ValueError(
                    f"the models of an ensemble need the same vocabularies; got {sizes}"
                )
        template = copy.deepcopy(first)
        # The stacked copy: the same modules, every parameter and buffer (N, ...). Its children
        # and parameters become the ensemble's own, so the ensemble's state dict has exactly the
        # members' names.
        stacked = copy.deepcopy(first)
        for module_name, module in stacked.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, parameter in list(module.named_parameters(recurse=False)):
                values = torch.stack([m.get_parameter(prefix + name).detach() for m in members])
                setattr(module, name, nn.Parameter(values, requires_grad=parameter.requires_grad))
            for name, _ in list(module.named_buffers(recurse=False)):
                values = torch.stack([m.get_buffer(prefix + name) for m in members])
                saved = name not in module._non_persistent_buffers_set  # as the members'
                module.register_buffer(name, values, persistent=saved)
        for name, child in stacked.named_children():
            self._refuse_clash(name)
            self.add_module(name, child)
        for name, parameter in stacked.named_parameters(recurse=False):
            self._refuse_clash(name)
            self.register_parameter(name, parameter)
        for name, buffer in stacked.named_buffers(recurse=False):
            self._refuse_clash(name)
            saved = name not in stacked._non_persistent_buffers_set
            self.register_buffer(name, buffer, persistent=saved)
        # Not submodules: the template gives the members' structure to functional_call (its own
        # weights are never used), the cache holds plain members for inference.
        object.__setattr__(self, "_template", template)
        object.__setattr__(self, "_size", len(members))
        object.__setattr__(self, "_cache", (None, []))
        self.needs_targets = bool(getattr(first, "needs_targets", False))

    def _refuse_clash(self, name: str) -> None:
        if hasattr(type(self), name) or name in ("needs_targets",):
            raise ValueError(f"a member's part {name!r} has the name of an Ensemble attribute")

    def __len__(self) -> int:
        return self._size

    def _apply(self, fn, recurse=True):
        # .to(), .double(), .cuda() ... convert the template too, so that members are built
        # with the ensemble's dtype and device.
        super()._apply(fn, recurse)
        self._template._apply(fn, recurse)
        object.__setattr__(self, "_cache", (None, []))
        return self

    @property
    def template(self) -> nn.Module:
        """A network of the members' architecture (its own weights are not the members')."""
        return self._template

    # -- members in and out ------------------------------------------------------------------

    def member_state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's state dict: the state dict of a plain network (a copy)."""
        self._check_member(k)
        return {name: value[k].detach().clone() for name, value in self.state_dict().items()}

    def member(self, k: int) -> nn.Module:
        """A plain network (the members' type) with member k's weights; training it does not
        change the ensemble."""
        network = copy.deepcopy(self._template)
        network.load_state_dict(self.member_state_dict(k))
        network.train(self.training)
        return network

    def members(self) -> list[nn.Module]:
        """Every member as a plain network (in evaluation mode; kept until the weights change),
        for inference."""
        versions = tuple(p._version for p in self.parameters()) + tuple(
            id(p) for p in self.parameters()
        )
        if self._cache[0] != versions:
            built = [self.member(k).eval() for k in range(len(self))]
            object.__setattr__(self, "_cache", (versions, built))
        return self._cache[1]

    @staticmethod
    def stack_state_dicts(state_dicts: Sequence[dict]) -> dict[str, torch.Tensor]:
        """The state dict of an ensemble of networks with these state dicts."""
        names = list(state_dicts[0])
        return {name: torch.stack([sd[name] for sd in state_dicts]) for name in names}

    def _check_member(self, k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or not -len(self) <= k < len(self):
            raise IndexError(f"member index must be an int in 0 .. {len(self) - 1}; got {k!r}")

    # -- running every member ----------------------------------------------------------------

    def forward(self, x: torch.Tensor, state=None, lengths=None, **kwargs):
        """Every member on ``x``: (B, T, I) (or (B, T) token ids) shared by all members, or
        (N, B, T, I) (or (N, B, T)) one input per member; ``state`` and ``lengths`` with N first
        or None (``lengths`` (B,) is shared). Returns outputs and states, N first."""
        self._per_member(x)
        unroll = getattr(self._template, "unroll_members", None)  # layers and networks
        if unroll is not None and not kwargs:
            self._template.train(self.training)
            served = unroll(dict(self.named_parameters()), x, state, lengths)
            if served is not None:
                return served
        return self.forward_members(x, state, lengths, **kwargs)

    def forward_members(self, x: torch.Tensor, state=None, lengths=None, **kwargs):
        """:meth:`forward` on the reference path: the members one after another."""
        per_member = self._per_member(x)
        per_member_lengths = lengths is not None and lengths.dim() == 2
        self._template.train(self.training)
        tensors = {**dict(self.named_parameters()), **dict(self.named_buffers())}
        outputs, states = [], []
        for k in range(len(self)):
            member_tensors = {name: value[k] for name, value in tensors.items()}
            args = (
                x[k] if per_member else x,
                _index(state, k),
                lengths[k] if per_member_lengths else lengths,
            )
            output_k, state_k = functional_call(self._template, member_tensors, args, kwargs)
            outputs.append(output_k)
            states.append(state_k)
        return torch.stack(outputs), _stack_states(states)

    def _per_member(self, x: torch.Tensor) -> bool:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor; got {type(x).__name__}")
        shared_rank = 3 if x.is_floating_point() else 2  # (B, T, I), or (B, T) token ids
        if x.dim() == shared_rank + 1:
            if x.shape[0] != len(self):
                raise ValueError(
                    f"x of shape {tuple(x.shape)} has one input per member; its first "
                    f"dimension must be the {len(self)} members"
                )
            return True
        return False

    # -- classification and language models --------------------------------------------------

    @staticmethod
    def mean_predictions(predictions: Sequence[torch.Tensor]) -> torch.Tensor:
        """The mean of the members' predicted distributions (one tensor per member)."""
        return torch.stack(list(predictions)).mean(0)

    @torch.no_grad()
    def mean_probabilities(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The mean of the members' softmax distributions on ``x`` (evaluation mode)."""
        return self.mean_predictions(
            torch.softmax(model(x, lengths=lengths)[0], dim=-1) for model in self.members()
        )

    # -- encoder-decoders --------------------------------------------------------------------

    def encode(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> EnsembleMemory:
        memories = [model.encode(x, lengths) for model in self.members()]
        return EnsembleMemory(memories, [memory.state for memory in memories])

    def step(self, tokens: torch.Tensor, state: list, memory: EnsembleMemory):
        log_probs, states, weights = [], [], []
        for model, state_k, memory_k in zip(self.members(), state, memory.memories):
            logits, new_state, weights_k = model.step(tokens, state_k, memory_k)
            log_probs.append(torch.log_softmax(logits, dim=-1))
            states.append(new_state)
            if weights_k is not None:
                weights.append(weights_k)
        return _log_mean(log_probs), states, torch.stack(weights).mean(0) if weights else None

    def log_mean_forward(
        self, x, state=None, lengths=None, targets=None, teacher_forcing: float = 1.0
    ):
        """The logarithm of the members' mean next-token distribution in place of logits."""
        log_probs = [
            torch.log_softmax(model(x, state, lengths, targets, teacher_forcing)[0], dim=-1)
            for model in self.members()
        ]
        return _log_mean(log_probs), None

    def combined(self) -> nn.Module:
        """A network whose outputs are the ensemble's combined prediction, as one network's
        would be: for encoder-decoders the log of the mean distribution
        (:meth:`log_mean_forward`), with :meth:`encode` and :meth:`step` for decoding."""
        return _Combined(self)


class _Combined(nn.Module):
    """An ensemble seen as one network that predicts the members' combination."""

    def __init__(self, ensemble: Ensemble) -> None:
        super().__init__()
        self.ensemble = ensemble
        self.needs_targets = ensemble.needs_targets

    def forward(self, x, state=None, lengths=None, targets=None, teacher_forcing: float = 1.0):
        return self.ensemble.log_mean_forward(x, state, lengths, targets, teacher_forcing)

    def encode(self, x, lengths=None):
        return self.ensemble.encode(x, lengths)

    def step(self, tokens, state, memory):
        return self.ensemble.step(tokens, state, memory)

    def __len__(self) -> int:
        return len(self.ensemble)


def _index(state, k: int):
    """Member k's part of an N-first state (a tensor, a tuple of them, or None)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state[k]
    return type(state)(*(part[k] for part in state))


def _stack_states(states: list):
    """The members' states stacked, N first."""
    first = states[0]
    if first is None:
        return None
    if isinstance(first, torch.Tensor):
        return torch.stack(states)
    return type(first)(*(torch.stack(parts) for parts in zip(*states)))


def _log_mean(log_probs: list[torch.Tensor]) -> torch.Tensor:
    """The logarithm of the mean of the distributions whose logarithms are ``log_probs``."""
    return torch.logsumexp(torch.stack(log_probs), dim=0) - torch.log(
        torch.tensor(float(len(log_probs)))
    )


def members(network) -> list[nn.Module]:
    """The networks of ``network``: an ensemble's members, a list's, or the network itself."""
    if isinstance(network, _Combined):
        network = network.ensemble
    if isinstance(network, Ensemble):
        return network.members()
    return list(network) if isinstance(network, list) else [network]
