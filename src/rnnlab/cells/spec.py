"""What a cell family is, written down once: the spec that the layer, ``record`` and the
analysis read.

A :class:`CellSpec` says everything about a family that is not the unroll: which parameters
one layer and direction holds (torch.nn's names), what the recurrent state is made of, where
it starts, what one step computes, what ``record`` keeps of a step, how a state looks to the
user, and how the parameters are initialised. :class:`rnnlab.layers.RecurrentLayer` unrolls
any spec over (B, T, I), stacked and in both directions, with ``lengths``; the analysis in
:mod:`rnnlab.analysis.gradient_flow` differentiates its step. A new family is one file in
:mod:`rnnlab.cells` that defines its spec; a fast kernel for it is optional
(:data:`rnnlab.layers.KERNELS`).

Every function in a spec takes the family's options: its hyperparameters (``nonlinearity``,
``output_size``, ``peephole``, ...), checked once by :attr:`CellSpec.check_options` and held by
the layer as attributes of the same names.

Example:
    >>> from typing import NamedTuple
    >>> import torch.nn.functional as F
    >>> class IdentityTrace(NamedTuple):
    ...     hidden: torch.Tensor
    >>> def shapes(input_size, hidden_size, bias, options):
    ...     H = hidden_size
    ...     return {"weight_ih": (H, input_size), "bias_ih": (H,) if bias else None}
    >>> def step(x_t, state, p, options):  # h_t = h_{t-1} + W_ih x_t + b_ih: a running sum
    ...     h = state[0] + F.linear(x_t, p["weight_ih"], p["bias_ih"])
    ...     return (h,), (h,)
    >>> summing = CellSpec(
    ...     name="Sum", parameter_shapes=shapes, state_names=("h",), step=step,
    ...     trace_type=IdentityTrace,
    ... )
    >>> from rnnlab.layers import RecurrentLayer
    >>> layer = RecurrentLayer(summing, 3, 4, num_layers=2)
    >>> outputs, state = layer(torch.randn(2, 5, 3))
    >>> tuple(outputs.shape), tuple(state.shape)
    ((2, 5, 4), (2, 2, 4))
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from rnnlab.cells.base import init_uniform_

State = tuple[torch.Tensor, ...]  # the parts of one state, each (B, size): (h,), (h, c), (y,)
Options = Mapping[str, object]  # a family's hyperparameters, by name
Parameters = Mapping[str, torch.Tensor | None]  # one layer and direction's, torch.nn's names


def no_options(hidden_size: int, bias: bool) -> dict[str, object]:
    """The options of a family that has none: it accepts no keyword."""
    return {}


def hidden_sized(hidden_size: int, options: Options) -> tuple[int]:
    """One state part of H units, as Elman's and the GRU's."""
    return (hidden_size,)


def at_zero(options: Options) -> tuple[float, ...]:
    """One state part that starts at 0."""
    return (0.0,)


def every_unit(hidden_size: int, options: Options) -> None:
    """A readout reads every unit, with weights of either sign."""
    return None


def uniform_init(
    parameters: Mapping[str, nn.Parameter | None],
    hidden_size: int,
    options: Options,
    generator: torch.Generator | None = None,
) -> None:
    """torch.nn's initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), in order."""
    init_uniform_([p for p in parameters.values() if p is not None], hidden_size, generator)


@dataclass(frozen=True)
class CellSpec:
    """One cell family: its step, parameters, state, trace and initialisation.

    Every field that is a function is a plain module-level function (so that a layer holding
    the spec can be pickled and deep-copied). ``options`` below is the mapping that
    :attr:`check_options` returned, ``H`` the layer's ``hidden_size``.

    Attributes:
        name: the family's name as the user knows it, ``"Elman"``, ``"LSTM"``; it names the
            family in messages and in analysis results.
        parameter_shapes: ``(input_size, hidden_size, bias, options) -> {name: shape | None}``,
            the parameters of one layer and direction in torch.nn's names and order
            (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``, then the family's own);
            None registers the name without a parameter (a bias with ``bias=False``). The
            layer adds ``_l{layer}`` and ``_reverse``.
        state_names: the names of the recurrent state's parts, in the order ``step`` takes
            them: ``("h",)``, ``("h", "c")`` for the LSTM, ``("y",)`` for Jordan (whose
            context is its previous output).
        step: ``(x_t, state, params, options) -> (new_state, trace_items)``, one step of one
            layer and direction: ``x_t`` (B, I), ``state`` and ``new_state`` tuples of (B,
            size) in ``state_names``' order, ``params`` this layer and direction's tensors by
            name (None where absent), ``trace_items`` one (B, ...) tensor per field of
            ``trace_type``. It is the reference path and the oracle of any kernel.
        trace_type: the NamedTuple that ``record`` returns, one field per trace item, each
            stacked to (L*D, B, T, ...).
        check_options: ``(hidden_size, bias, **options) -> options``: checks the family's
            hyperparameters and returns all of them, defaults filled in (an unknown keyword
            is a TypeError). The default takes none.
        state_sizes: ``(hidden_size, options) -> sizes``, the units of each state part
            (Jordan's is O; the LSTM's ``h`` is P with a projection). Default ``(H,)``.
        rest_values: ``options -> values``, the value each state part starts from when no
            state is given (Elman's sigmoid context starts at 0.5). Default ``(0.0,)``.
        output_part: which state part a direction outputs, and the layer above reads; its
            size is ``state_sizes(...)[output_part]``. Default 0 (h; Jordan's y).
        output: optional ``(state, options) -> (B, size)``, what a direction outputs at a step
            when it is not a state part itself but a function of one, of the size of part
            ``output_part``: the continuous-time network carries its units' currents ``v``
            and outputs their rates f(v). None (the default) outputs the part itself. Read it
            through :meth:`outputs_from`.
        per_step: names of tensors that a call gives a layer and direction beside its
            parameters, one for every step, (B, T, ...), which ``step`` receives in ``params``
            sliced at its step, (B, ...), or not at all (None) when the call has none: the
            continuous-time network's noise. Default none.
        state_type: the public state of a layer: None for one tensor (L*D, B, size), or a
            NamedTuple with one field per part (:class:`rnnlab.LSTMState`), which the layer
            also accepts as a plain tuple.
        state_layout: for error messages, the shapes of a NamedTuple state's parts in words
            (``"each (L*D, B, H)"``); None to say it from the sizes.
        initialise: ``(params, hidden_size, options, generator) -> None``, called on each
            layer and direction's parameters in order; default torch.nn's
            U(-1/sqrt(H), 1/sqrt(H)) (:func:`uniform_init`).
        readout_units: ``(hidden_size, options) -> indices | None``, the units of a direction
            that a readout may read, and only through non-negative weights: the excitatory
            units under Dale's law (Song et al. 2016, whose readout is ``[W_out]+`` on them).
            None (the default, :func:`every_unit`): a readout reads every unit, any sign.
        jacobian_bound: optional ``(params, options) -> float``, a bound on every one-step
            Jacobian's spectral norm ‖∂s_t/∂s_{t-1}‖₂ that depends on the weights alone (the
            Pascanu et al. 2013 bound of Elman's and Jordan's networks); None where there is
            none (the gated cells, whose gates make it depend on the trajectory).
    """

    name: str
    parameter_shapes: Callable[[int, int, bool, Options], dict[str, tuple[int, ...] | None]]
    state_names: tuple[str, ...]
    step: Callable[[torch.Tensor, State, Parameters, Options], tuple[State, State]]
    trace_type: type
    check_options: Callable[..., dict[str, object]] = no_options
    state_sizes: Callable[[int, Options], tuple[int, ...]] = hidden_sized
    rest_values: Callable[[Options], tuple[float, ...]] = at_zero
    output_part: int = 0
    output: Callable[[State, Options], torch.Tensor] | None = None
    per_step: tuple[str, ...] = ()
    state_type: type | None = None
    state_layout: str | None = None
    initialise: Callable[..., None] = uniform_init
    readout_units: Callable[[int, Options], torch.Tensor | None] = every_unit
    jacobian_bound: Callable[[Parameters, Options], float] | None = None

    def __post_init__(self) -> None:
        if not self.state_names:
            raise ValueError(f"{self.name}: a cell spec needs at least one state part")
        if not 0 <= self.output_part < len(self.state_names):
            raise ValueError(
                f"{self.name}: output_part must index state_names {self.state_names}; "
                f"got {self.output_part}"
            )
        fields = getattr(self.state_type, "_fields", None)
        if self.state_type is None and len(self.state_names) != 1:
            raise ValueError(
                f"{self.name}: a state of {len(self.state_names)} parts needs a state_type "
                "(a NamedTuple with one field per part)"
            )
        if self.state_type is not None and fields != self.state_names:
            raise ValueError(
                f"{self.name}: state_type must be a NamedTuple with the fields {self.state_names}; "
                f"got {self.state_type!r}"
            )

    def outputs_from(self, state: State, options: Options) -> torch.Tensor:
        """What a direction outputs, and the layer above reads, after a step that left
        ``state``: :attr:`output` of it, or its part :attr:`output_part`."""
        if self.output is None:
            return state[self.output_part]
        return self.output(state, options)


def spectral_norm(weight: torch.Tensor) -> float:
    """λ₁, the largest singular value of a matrix."""
    return float(torch.linalg.matrix_norm(weight.detach(), ord=2))
