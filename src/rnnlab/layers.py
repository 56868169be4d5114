"""Recurrent layers over whole sequences: Elman, Jordan, GRU and LSTM.

Every layer stacks ``num_layers`` layers of one cell family, optionally in both directions,
and unrolls them over a batch-first sequence::

    outputs, state = layer(x, state=None, lengths=None)
    # x (B, T, I) -> outputs (B, T, D*H); state (L*D, B, H), or LSTMState(h, c) for the LSTM

Parameter names are torch.nn's (``weight_ih_l0``, ``weight_hh_l1_reverse``, ...), so state
dicts move between ``rnnlab.LSTM`` and ``torch.nn.LSTM(..., batch_first=True)`` both ways and
the results agree. The step of each layer is the step function of its cell in
:mod:`rnnlab.cells`; this module only adds the unroll. It is the reference path: a Python
loop over time, written to be read, and the oracle for any fast kernel.

Variable-length batches use ``lengths`` instead of PackedSequence: at ``t >= lengths[b]``
the outputs are exactly 0 and the state stops changing, so the final state of sequence ``b`` is
its state after step ``lengths[b] - 1`` (forward) or after step 0 (reverse direction, which
starts at ``lengths[b] - 1``).
"""

import numbers
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from rnnlab.cells.activations import check_activation, rest_value
from rnnlab.cells.base import check_bool, check_size, init_uniform_
from rnnlab.cells.elman import NONLINEARITIES as ELMAN_NONLINEARITIES
from rnnlab.cells.elman import elman_parameter_shapes, elman_step
from rnnlab.cells.gru import gru_parameter_shapes, gru_step
from rnnlab.cells.jordan import NONLINEARITIES as JORDAN_NONLINEARITIES
from rnnlab.cells.jordan import OUTPUT_NONLINEARITIES, jordan_parameter_shapes, jordan_step
from rnnlab.cells.lstm import (
    LSTMState,
    check_forget_bias,
    lstm_parameter_shapes,
    lstm_step,
    set_forget_bias_,
)
from rnnlab.kernels import elman as elman_kernel
from rnnlab.kernels import gru as gru_kernel
from rnnlab.kernels import jordan as jordan_kernel
from rnnlab.kernels import lstm as lstm_kernel
from rnnlab.kernels.common import ACTIVATION_CODES
from rnnlab.kernels.dispatch import (
    check_path,
    choose_loops,
    fast_path_problem,
    resolve_path,
    use_fused_lstm,
)


class ElmanTrace(NamedTuple):
    """Every step of an Elman layer: ``hidden`` (L*D, B, T, H)."""

    hidden: torch.Tensor


class JordanTrace(NamedTuple):
    """Every step of a Jordan layer: ``hidden`` (L*D, B, T, H) and ``output`` (L*D, B, T, O)."""

    hidden: torch.Tensor
    output: torch.Tensor


class GRUTrace(NamedTuple):
    """Every step of a GRU: ``hidden`` (L*D, B, T, H), ``gates`` r, z, n (L*D, B, T, 3, H)."""

    hidden: torch.Tensor
    gates: torch.Tensor


class LSTMTrace(NamedTuple):
    """Every step of an LSTM: ``hidden`` and ``cell`` (L*D, B, T, H), ``gates`` i, f, g, o
    (L*D, B, T, 4, H)."""

    hidden: torch.Tensor
    cell: torch.Tensor
    gates: torch.Tensor


State = tuple[torch.Tensor, ...]  # one direction of one layer: (h,), (h, c) or (y,)


class RecurrentLayer(nn.Module):
    """The unroll shared by every layer: stacking, directions, lengths, dropout and record.

    A subclass says what one step is (``_step``), which parameters a step uses
    (``_parameter_shapes``), what its state holds (``_state_names``, ``_state_sizes``,
    ``_state_rest``) and how a state and a trace look to the user (``_public_state``,
    ``_trace_type``), then calls ``_build``.
    """

    _state_names: tuple[str, ...] = ("h",)
    _trace_type: type = ElmanTrace

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bias: bool,
        batch_first: bool,
        dropout: float,
        bidirectional: bool,
        path: str | None = None,
    ) -> None:
        super().__init__()
        self.path = check_path(path)
        # torch.nn.RNNBase's checks, as strict or stricter: sizes are ints >= 1, switches bools.
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.num_layers = check_size("num_layers", num_layers)
        self.bias = check_bool("bias", bias)
        self.batch_first = check_batch_first(batch_first)
        self.dropout = check_dropout(dropout, self.num_layers)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.num_directions = 2 if bidirectional else 1

    # -- what a subclass defines ----------------------------------------------------------

    @property
    def output_size_per_direction(self) -> int:
        """Features each direction contributes to ``outputs``: H (O for Jordan)."""
        return self.hidden_size

    def _parameter_shapes(self, input_size: int) -> dict[str, tuple[int, ...] | None]:
        raise NotImplementedError

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    def _state_rest(self) -> tuple[float, ...]:
        return (0.0,)

    def _step(
        self, x_t: torch.Tensor, state: State, p: dict[str, torch.Tensor | None]
    ) -> tuple[State, tuple[torch.Tensor, ...]]:
        """One step of one direction: the new state and the tensors ``record`` keeps."""
        raise NotImplementedError

    def _public_state(self, parts: State):
        return parts[0]

    # -- parameters -------------------------------------------------------------------------

    def _build(self, device, dtype) -> None:
        """Register every layer's and direction's parameters under torch.nn's names."""
        for layer in range(self.num_layers):
            layer_input_size = (
                self.input_size
                if layer == 0
                else self.num_directions * self.output_size_per_direction
            )
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                for name, shape in self._parameter_shapes(layer_input_size).items():
                    parameter = None
                    if shape is not None:
                        parameter = nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
                    self.register_parameter(name + suffix, parameter)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)), as torch.nn does."""
        init_uniform_(list(self.parameters()), self.hidden_size, generator)

    def _step_parameters(self, layer: int, direction: int) -> dict[str, torch.Tensor | None]:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        return {name: getattr(self, name + suffix) for name in self._parameter_shapes(1)}

    # -- the public interface ---------------------------------------------------------------

    def initial_state(self, batch_size: int):
        """The state a sequence starts from when none is given, in the public layout."""
        batch_size = check_size("batch_size", batch_size, minimum=0)
        return self._public_state(self._default_state(batch_size, self.weight_ih_l0))

    def forward(self, x: torch.Tensor, state=None, lengths=None):
        """Run the layer over ``x`` (B, T, I); returns ``(outputs, state)``.

        ``outputs`` is (B, T, D*H) (D*O for Jordan), the top layer's output at every step, both
        directions concatenated; ``state`` is the final state of every layer and direction in
        torch.nn's layout, index ``layer * D + direction``.
        """
        outputs, finals, _ = self._unroll(x, state, lengths, record=False)
        return outputs, self._public_state(finals)

    def record(self, x: torch.Tensor, state=None, lengths=None):
        """Run the layer and return every step of every layer, for analysis.

        Same arguments as ``forward``. Returns this layer's trace type, each field of shape
        (L*D, B, T, ...), with zeros at padded steps. Gradients flow through the trace.
        """
        _, _, trace = self._unroll(x, state, lengths, record=True)
        return trace

    # -- torch.nn.RNNBase's remaining interface ---------------------------------------------

    def flatten_parameters(self) -> None:
        """Do nothing, and say why: there is nothing to flatten.

        torch.nn.RNNBase copies its weights into one contiguous buffer here so that cuDNN can
        read them in a single call. rnnlab keeps no such buffer: every parameter is its own
        tensor and no kernel reads a flat copy, so no buffer can fall out of date. The method
        exists so that code written for torch.nn (which calls it after ``.to()`` or in
        ``DataParallel``) runs unchanged.
        """

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """Every layer and direction's parameters, as torch.nn.RNNBase.all_weights lists them.

        One list per layer and direction, index ``layer * D + direction``, each in torch.nn's
        order: ``[weight_ih, weight_hh, bias_ih, bias_hh]`` (no biases with ``bias=False``),
        then ``weight_hr`` for a projected LSTM. rnnlab's own parameters follow torch's:
        Jordan's ``weight_ho`` and ``bias_ho``, the LSTM's ``weight_peephole``.
        """
        return [
            [p for p in self._step_parameters(layer, direction).values() if p is not None]
            for layer in range(self.num_layers)
            for direction in range(self.num_directions)
        ]

    # -- the unroll ---------------------------------------------------------------------------

    def _unroll(self, x, state, lengths, record: bool):
        x, lengths = self._check_input(x, lengths)
        B, T, _ = x.shape
        parts = self._check_state(state, x)
        if B == 0:
            return self._unroll_empty_batch(x, parts, record)
        use_fast = self._choose_fast_path(x)
        if use_fast and not record and lengths is None and self._has_fused_kernel(B):
            return self._fused_unroll(x, parts)
        states = [tuple(part[k] for part in parts) for k in range(len(parts[0]))]
        if use_fast:
            run_direction = self._fast_direction
            # The kernels take every row's number of valid steps, as int64 on the CPU.
            full = np.full(B, T, dtype=np.int64)
            mask = full if lengths is None else lengths.cpu().numpy().astype(np.int64)
        else:
            run_direction = self._run_direction
            mask = None
            if lengths is not None:
                mask = torch.arange(T, device=x.device)[None, :] < lengths.to(x.device)[:, None]

        finals: list[State] = []
        traces: list[tuple[torch.Tensor, ...]] = []
        layer_input = x  # (B, T, I) for layer 0, then (B, T, D*H)
        for layer in range(self.num_layers):
            direction_outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                outputs_d, final_d, trace_d = run_direction(
                    layer_input, states[k], mask, self._step_parameters(layer, direction),
                    reverse=direction == 1, record=record,
                )  # fmt: skip
                direction_outputs.append(outputs_d)
                finals.append(final_d)
                traces.append(trace_d)
            layer_input = _cat(direction_outputs)  # (B, T, D*H)
            if layer < self.num_layers - 1 and self.dropout > 0:
                layer_input = F.dropout(layer_input, self.dropout, self.training)

        final = tuple(_stack(parts) for parts in zip(*finals))  # each (L*D, B, H)
        trace = None
        if record:
            trace = self._trace_type(*(_stack(items) for items in zip(*traces)))
        return layer_input, final, trace

    def _unroll_empty_batch(self, x, parts: State, record: bool):
        """A batch of no sequences (B = 0): outputs (0, T, D*H), state (L*D, 0, H), as torch.nn.

        There is nothing to compute, but the results must hang off ``x``, the state and every
        parameter, as torch.nn's do, so that autograd returns the same empty or zero gradients
        (to every order) instead of failing. One reference step of each layer and direction
        on its zero rows gives every shape and that graph; the kernels never see B = 0.
        """
        T = x.shape[1]
        finals: list[State] = []
        traces: list[tuple[torch.Tensor, ...]] = []
        layer_input = x[:, 0]  # (0, I) for layer 0, then (0, D*H)
        for layer in range(self.num_layers):
            direction_outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                state_k = tuple(part[k] for part in parts)  # each (0, size)
                new_state, items = self._step(
                    layer_input, state_k, self._step_parameters(layer, direction)
                )
                direction_outputs.append(new_state[0])
                finals.append(new_state)
                traces.append(tuple(_repeat_in_time(item, T) for item in items))
            layer_input = _cat(direction_outputs)
        final = tuple(_stack(parts) for parts in zip(*finals))  # each (L*D, 0, size)
        trace = None
        if record:
            trace = self._trace_type(*(_stack(items) for items in zip(*traces)))
        return _repeat_in_time(layer_input, T), final, trace  # outputs (0, T, D*H)

    _has_fast_kernel = False

    def _choose_fast_path(self, x: torch.Tensor) -> bool:
        """True to run the kernels: asked for (or ``auto``) and able to serve ``x``."""
        path = resolve_path(self.path)
        if path == "reference":
            return False
        problem = fast_path_problem(x)
        if problem is None and not self._has_fast_kernel:
            problem = f"{type(self).__name__} has no fast kernel yet"
        if problem is not None and path == "fast":
            raise ValueError(f"path='fast' cannot serve this call: {problem}")
        return problem is None

    def _fast_direction(self, x, state: State, lengths, p, reverse: bool, record: bool):
        """The kernels' version of :meth:`_run_direction`; ``lengths`` is an int64 array."""
        raise NotImplementedError

    _kernel_parameters = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # a kernel's order

    def _kernel_reference(self, lengths: np.ndarray, reverse: bool, extras: tuple[int, ...]):
        """This direction's reference unroll as a function of a kernel's tensor arguments.

        The kernels take ``(x, *state parts, *parameters)``, the parameters named by
        :attr:`_kernel_parameters`, and return ``(outputs, *final state parts, *trace items)``;
        ``extras`` picks those trace items from :meth:`_run_direction`'s trace. A kernel calls
        it only for what its own backward cannot give (gradients with a graph, or through the
        trace): see :mod:`rnnlab.kernels.second_order`.
        """
        names = self._kernel_parameters
        absent = dict.fromkeys(self._parameter_shapes(1))  # those no kernel takes are None
        parts = len(self._state_sizes())

        def reference(x, *tensors):
            T = x.shape[1]
            mask = None
            if (lengths < T).any():
                mask = torch.from_numpy(np.arange(T)[None, :] < lengths[:, None]).to(x.device)
            state, p = tensors[:parts], {**absent, **dict(zip(names, tensors[parts:]))}
            outputs, final, trace = self._run_direction(
                x, state, mask, p, reverse=reverse, record=bool(extras)
            )
            return (outputs, *final, *(trace[i] for i in extras))

        return reference

    def _has_fused_kernel(self, batch_size: int) -> bool:
        """True where torch has a faster fused kernel for this configuration (whole stack)."""
        return False

    def _fused_unroll(self, x, parts: State):
        """The whole stack in torch's fused kernel, from the state's parts (L*D, B, size)."""
        raise NotImplementedError

    def fast_path_name(self, batch_size: int, lengths: bool = False, record: bool = False) -> str:
        """Which implementation serves a float CPU call: for benchmarks and curious users."""
        if resolve_path(self.path) == "reference" or not self._has_fast_kernel:
            return "reference"
        if not record and not lengths and self._has_fused_kernel(batch_size):
            return "torch fused"
        dtype = self.weight_hh_l0.dtype
        forward, backward = choose_loops(batch_size, self._loop_width(), self._gates, dtype)
        if forward:
            return "compiled loop"
        return "torch loop, compiled backward" if backward else "torch loop"

    _gates = 1

    def _loop_width(self) -> int:
        return self.hidden_size

    def _loops(self, x: torch.Tensor) -> tuple[bool, bool]:
        """Which of the kernels' loops run compiled for ``x``: (forward, backward)."""
        return choose_loops(x.shape[0], self._loop_width(), self._gates, x.dtype)

    def _run_direction(self, x, state: State, mask, p, reverse: bool, record: bool):
        """Unroll one layer in one direction. x (B, T, I_l) -> outputs (B, T, H_out)."""
        T = x.shape[1]
        outputs: list[torch.Tensor | None] = [None] * T
        kept: list[tuple[torch.Tensor, ...] | None] = [None] * T
        for t in reversed(range(T)) if reverse else range(T):
            new_state, items = self._step(x[:, t], state, p)
            if mask is not None:
                valid = mask[:, t]  # (B,)
                # Past its end a sequence keeps its state; in reverse it has not started yet.
                new_state = tuple(_where(valid, new, old) for new, old in zip(new_state, state))
                items = tuple(_where(valid, item, torch.zeros_like(item)) for item in items)
            state = new_state
            outputs[t] = (
                state[0] if mask is None else _where(valid, state[0], torch.zeros_like(state[0]))
            )
            if record:
                kept[t] = items
        trace = tuple(torch.stack(column, dim=1) for column in zip(*kept)) if record else ()
        return torch.stack(outputs, dim=1), state, trace

    # -- validation at the boundary -------------------------------------------------------

    def _check_input(self, x, lengths):
        if isinstance(x, PackedSequence):
            raise TypeError(
                "x is a PackedSequence; rnnlab takes a padded batch x (B, T, I) and its "
                "lengths instead: x, lengths = torch.nn.utils.rnn.pad_packed_sequence(packed, "
                "batch_first=True), then layer(x, lengths=lengths)"
            )
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (B, T, I); got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor; got dtype {x.dtype}")
        if x.dim() != 3:
            hint = "; for one unbatched sequence (T, I) pass x.unsqueeze(0)" if x.dim() == 2 else ""
            raise ValueError(
                f"x must have shape (B, T, I) (batch first); got {x.dim()} dimensions, "
                f"shape {tuple(x.shape)}{hint}"
            )
        B, T, I = x.shape
        if self.input_size != I:
            raise ValueError(
                f"x must have shape (B, T, I) with I = input_size = {self.input_size}; "
                f"got shape {tuple(x.shape)}"
            )
        if T == 0:  # torch.nn refuses it too; a batch of no sequences (B = 0) is fine
            raise ValueError(f"x must have at least one step, T >= 1; got shape {tuple(x.shape)}")
        dtype = self.weight_ih_l0.dtype
        if x.dtype != dtype:
            raise TypeError(
                f"x has dtype {x.dtype} but the layer's parameters are {dtype}; convert one "
                f"(x.to({dtype}) or layer.to({x.dtype}))"
            )
        if lengths is None:
            return x, None
        if not isinstance(lengths, torch.Tensor):
            lengths = torch.as_tensor(lengths)
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(
                f"lengths must be an integer tensor of shape (B,); got dtype {lengths.dtype}"
            )
        if tuple(lengths.shape) != (B,):
            raise ValueError(
                f"lengths must have shape (B,) = ({B},), one length per sequence; "
                f"got {tuple(lengths.shape)}"
            )
        if B == 0:
            return x, lengths
        shortest, longest = int(lengths.min()), int(lengths.max())
        if shortest < 1 or longest > T:
            raise ValueError(
                f"lengths must lie in [1, T] = [1, {T}]; got values from {shortest} to {longest}"
            )
        return x, lengths

    def _default_state(self, batch_size: int, like: torch.Tensor) -> State:
        LD = self.num_layers * self.num_directions
        return tuple(
            like.new_full((LD, batch_size, size), rest)
            for size, rest in zip(self._state_sizes(), self._state_rest())
        )

    def _check_state(self, state, x: torch.Tensor) -> State:
        """Validate a public state; its parts, each (L*D, B, size)."""
        B = x.shape[0]
        LD = self.num_layers * self.num_directions
        if state is None:
            parts = self._default_state(B, x)
        else:
            parts = self._state_parts(state)
            for name, tensor, size in zip(self._state_names, parts, self._state_sizes()):
                if not isinstance(tensor, torch.Tensor):
                    raise TypeError(
                        f"state {name} must be a torch.Tensor; got {type(tensor).__name__}"
                    )
                expected = (LD, B, size)
                if tuple(tensor.shape) != expected:
                    raise ValueError(
                        f"state {name} must have shape (L*D, B, {size}) = {expected}; "
                        f"got {tuple(tensor.shape)}"
                    )
                if tensor.dtype != x.dtype or tensor.device != x.device:
                    raise TypeError(
                        f"state {name} must match x's dtype and device ({x.dtype}, {x.device}); "
                        f"got ({tensor.dtype}, {tensor.device})"
                    )
        return tuple(parts)

    def _state_parts(self, state) -> State:
        if isinstance(state, torch.Tensor):
            return (state,)
        raise TypeError(
            f"state must be a torch.Tensor of shape (L*D, B, {self._state_sizes()[0]}); "
            f"got {type(state).__name__}"
        )

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"bias={self.bias}, bidirectional={self.bidirectional}, dropout={self.dropout}"
        )


def _cat(parts: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate along the last axis; one part is returned as it is, without a copy."""
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


def _stack(parts) -> torch.Tensor:
    """Stack along a new first axis; one part becomes a view, without a copy."""
    return parts[0].unsqueeze(0) if len(parts) == 1 else torch.stack(parts)


def _repeat_in_time(item: torch.Tensor, T: int) -> torch.Tensor:
    """(B, ...) -> (B, T, ...), ``item`` at every step (a copy, not a view)."""
    return item.unsqueeze(1).repeat(1, T, *([1] * (item.dim() - 1)))


def _where(valid: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """``new`` for the sequences marked ``valid`` (B,), ``old`` for the rest."""
    return torch.where(valid.view(-1, *([1] * (new.dim() - 1))), new, old)


def check_batch_first(batch_first: object) -> bool:
    """True, or an error: rnnlab is batch first, always.

    ``batch_first`` sits where torch.nn has it, so that torch.nn's positional calls keep their
    meaning, but only ``True`` is accepted (STYLE 7: no second layout to test and document).
    """
    batch_first = check_bool("batch_first", batch_first)
    if not batch_first:
        raise ValueError(
            "rnnlab is batch first: x is (B, T, I) and outputs (B, T, D*H); batch_first=False "
            "is not supported. Transpose the input instead: layer(x.transpose(0, 1)) for an x "
            "of shape (T, B, I)"
        )
    return batch_first


def check_dropout(dropout: object, num_layers: int) -> float:
    """``dropout`` as a float in [0, 1] (torch.nn's range), else an error naming what was got.

    Dropout acts between stacked layers, so with ``num_layers=1`` it would do nothing:
    torch.nn warns, rnnlab refuses (an accepted-but-ignored argument is an error here).
    """
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real):
        raise TypeError(
            f"dropout must be a number in [0, 1]; got {type(dropout).__name__} {dropout!r}"
        )
    if not 0 <= dropout <= 1:
        raise ValueError(f"dropout must be a number in [0, 1]; got {dropout}")
    if dropout > 0 and num_layers == 1:
        raise ValueError(
            f"dropout acts between stacked layers, so it needs num_layers >= 2; got "
            f"dropout={dropout} with num_layers=1"
        )
    return float(dropout)


class Elman(RecurrentLayer):
    r"""Elman's simple recurrent network over sequences; ``nonlinearity="tanh"`` or ``"relu"``
    is exactly torch.nn.RNN, ``"sigmoid"`` is Elman's (1990) logistic network.

    Each layer ``l`` and direction computes ``h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``
    (see :class:`rnnlab.ElmanCell`), with ``x_t`` the input for ``l = 0`` and the previous
    layer's outputs (both directions concatenated, after dropout) above.

    The arguments come in torch.nn.RNN's positional order, ``Elman(input_size, hidden_size,
    num_layers, nonlinearity, bias, batch_first, dropout, bidirectional)``; rnnlab's own
    (``path``, ``device``, ``dtype``) are keyword-only.

    Args:
        input_size: I, an int >= 1.
        hidden_size: H, an int >= 1.
        num_layers: L, stacked layers, an int >= 1.
        nonlinearity: ``"tanh"``, ``"relu"`` or ``"sigmoid"``.
        bias: learn ``bias_ih_l*`` and ``bias_hh_l*`` (a bool).
        batch_first: only ``True``: rnnlab is always batch first, and ``False`` is an error that
            says to transpose the input. The argument exists so that torch.nn's positional
            calls keep their meaning.
        dropout: dropout on the outputs of every layer but the last, in training mode; a number
            in [0, 1], and 0 when ``num_layers=1`` (torch.nn warns; rnnlab refuses).
        bidirectional: add a reverse-time direction, D = 2 (a bool).
        path: ``"auto"``, ``"fast"`` or ``"reference"`` (:mod:`rnnlab.kernels.dispatch`).

    Shapes:
        ``x`` (B, T, I), ``lengths`` (B,), ``outputs`` (B, T, D*H), ``state`` (L*D, B, H).
        B may be 0 (empty outputs and state, as in torch.nn); T must be >= 1.
        The default initial state is f(0): zeros, or 0.5 for sigmoid as in Elman (1990).

    Parameters:
        ``weight_ih_l{l}`` (H, I or D*H), ``weight_hh_l{l}`` (H, H), ``bias_ih_l{l}`` and
        ``bias_hh_l{l}`` (H,), with suffix ``_reverse`` for the reverse direction;
        U(-1/sqrt(H), 1/sqrt(H)).

    Example:
        >>> rnn = Elman(3, 5, num_layers=2, bidirectional=True)
        >>> outputs, state = rnn(torch.randn(4, 7, 3))
        >>> tuple(outputs.shape), tuple(state.shape)
        ((4, 7, 10), (4, 4, 5))
    """

    _trace_type = ElmanTrace

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        path: str | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, path
        )
        self.nonlinearity = check_activation("nonlinearity", nonlinearity, ELMAN_NONLINEARITIES)
        self._build(device, dtype)

    def _parameter_shapes(self, input_size):
        return elman_parameter_shapes(input_size, self.hidden_size, self.bias)

    def _state_rest(self):
        return (rest_value(self.nonlinearity),)

    _has_fast_kernel = True

    def _fast_direction(self, x, state, lengths, p, reverse, record):
        compiled = self._loops(x)
        outputs, h = elman_kernel.ElmanFunction.apply(
            x, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], lengths,
            reverse, ACTIVATION_CODES[self.nonlinearity], compiled,
            self._kernel_reference(lengths, reverse, ()),
        )  # fmt: skip
        return outputs, (h,), (outputs,)

    def _step(self, x_t, state, p):
        h = elman_step(
            x_t,
            state[0],
            p["weight_ih"],
            p["weight_hh"],
            p["bias_ih"],
            p["bias_hh"],
            self.nonlinearity,
        )
        return (h,), (h,)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"


class Jordan(RecurrentLayer):
    r"""Jordan's (1986) network over sequences: the context of each layer is its own previous
    output ``y_{t-1}``, not its hidden state.

    Each layer and direction computes ``h_t = f(W_ih x_t + b_ih + W_hh y_{t-1} + b_hh)`` and
    ``y_t = g(W_ho h_t + b_ho)`` (see :class:`rnnlab.JordanCell`); the layer above reads the
    ``y`` of both directions.

    torch.nn has no Jordan network; the arguments follow :class:`Elman`'s (torch.nn.RNN's)
    order with ``output_size`` after ``hidden_size``: ``Jordan(input_size, hidden_size,
    output_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional)``;
    ``output_nonlinearity``, ``path``, ``device`` and ``dtype`` are keyword-only.

    Args:
        input_size: I.
        hidden_size: H.
        output_size: O, the output (and context) units of every layer.
        num_layers, bias, batch_first, dropout, bidirectional, path: as for :class:`Elman`.
        nonlinearity: f, ``"tanh"``, ``"relu"`` or ``"sigmoid"``.
        output_nonlinearity: g, ``"sigmoid"``, ``"tanh"``, ``"relu"`` or ``"identity"``.

    Shapes:
        ``x`` (B, T, I), ``outputs`` (B, T, D*O), ``state`` (L*D, B, O): the state is the
        context, the last output, so its last dimension is O, not H. The default initial
        state is g(0).

    Parameters:
        ``weight_ih_l{l}`` (H, I or D*O), ``weight_hh_l{l}`` (H, O), ``bias_ih_l{l}`` (H,),
        ``bias_hh_l{l}`` (H,), ``weight_ho_l{l}`` (O, H), ``bias_ho_l{l}`` (O,), with suffix
        ``_reverse`` for the reverse direction; U(-1/sqrt(H), 1/sqrt(H)).

    Example:
        >>> net = Jordan(3, 8, 2)
        >>> outputs, state = net(torch.randn(4, 7, 3))
        >>> tuple(outputs.shape), tuple(state.shape)
        ((4, 7, 2), (1, 4, 2))
    """

    _trace_type = JordanTrace

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        output_nonlinearity: str = "sigmoid",
        path: str | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, path
        )
        self.output_size = check_size("output_size", output_size)
        self.nonlinearity = check_activation("nonlinearity", nonlinearity, JORDAN_NONLINEARITIES)
        self.output_nonlinearity = check_activation(
            "output_nonlinearity", output_nonlinearity, OUTPUT_NONLINEARITIES
        )
        self._build(device, dtype)

    @property
    def output_size_per_direction(self) -> int:
        return self.output_size

    def _parameter_shapes(self, input_size):
        return jordan_parameter_shapes(input_size, self.hidden_size, self.output_size, self.bias)

    def _state_sizes(self):
        return (self.output_size,)

    def _state_rest(self):
        return (rest_value(self.output_nonlinearity),)

    _has_fast_kernel = True
    _kernel_parameters = (*RecurrentLayer._kernel_parameters, "weight_ho", "bias_ho")

    def _loop_width(self) -> int:
        return self.hidden_size + self.output_size

    def _fast_direction(self, x, state, lengths, p, reverse, record):
        compiled = self._loops(x)
        codes = ACTIVATION_CODES
        outputs, y, hidden = jordan_kernel.JordanFunction.apply(
            x, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
            p["weight_ho"], p["bias_ho"], lengths, reverse, codes[self.nonlinearity],
            codes[self.output_nonlinearity], compiled,
            self._kernel_reference(lengths, reverse, (0,)),
        )  # fmt: skip
        return outputs, (y,), (hidden, outputs)

    def _step(self, x_t, state, p):
        y, h = jordan_step(
            x_t, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
            p["weight_ho"], p["bias_ho"], self.nonlinearity, self.output_nonlinearity,
        )  # fmt: skip
        return (y,), (h, y)

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, {self.output_size}, "
            f"num_layers={self.num_layers}, bias={self.bias}, bidirectional={self.bidirectional}, "
            f"dropout={self.dropout}, nonlinearity={self.nonlinearity!r}, "
            f"output_nonlinearity={self.output_nonlinearity!r}"
        )


class GRU(RecurrentLayer):
    r"""Gated recurrent units over sequences, exactly as torch.nn.GRU (reset gate applied after
    the recurrent matrix product; see :class:`rnnlab.GRUCell`).

    The arguments come in torch.nn.GRU's positional order, ``GRU(input_size, hidden_size,
    num_layers, bias, batch_first, dropout, bidirectional)``; ``path``, ``device`` and ``dtype``
    are keyword-only.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, path:
        as for :class:`Elman`.

    Shapes:
        ``x`` (B, T, I), ``outputs`` (B, T, D*H), ``state`` (L*D, B, H); default state zeros.

    Parameters:
        ``weight_ih_l{l}`` (3H, I or D*H), ``weight_hh_l{l}`` (3H, H), ``bias_ih_l{l}`` and
        ``bias_hh_l{l}`` (3H,), gate order r, z, n, suffix ``_reverse`` for the reverse
        direction; U(-1/sqrt(H), 1/sqrt(H)).

    Example:
        >>> gru = GRU(3, 5)
        >>> trace = gru.record(torch.randn(2, 6, 3))
        >>> tuple(trace.gates.shape)
        (1, 2, 6, 3, 5)
    """

    _trace_type = GRUTrace

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        path: str | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, path
        )
        self._build(device, dtype)

    def _parameter_shapes(self, input_size):
        return gru_parameter_shapes(input_size, self.hidden_size, self.bias)

    _has_fast_kernel = True
    _gates = 3

    def _fast_direction(self, x, state, lengths, p, reverse, record):
        compiled = self._loops(x)
        outputs, h, gates = gru_kernel.GRUFunction.apply(
            x, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], lengths,
            reverse, compiled, self._kernel_reference(lengths, reverse, (1,)),
        )  # fmt: skip
        return outputs, (h,), (outputs, gates)

    def _step(self, x_t, state, p):
        h, gates = gru_step(
            x_t, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"]
        )
        return (h,), (h, gates)


class LSTM(RecurrentLayer):
    r"""Long short-term memory over sequences, exactly as torch.nn.LSTM (gate order i, f, g, o;
    see :class:`rnnlab.LSTMCell`), with optional projection, peepholes and forget-gate bias.

    The arguments come in torch.nn.LSTM's positional order, ``LSTM(input_size, hidden_size,
    num_layers, bias, batch_first, dropout, bidirectional, proj_size)``; rnnlab's own
    (``peephole``, ``forget_bias``, ``path``, ``device``, ``dtype``) are keyword-only.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, path:
            as for :class:`Elman`.
        proj_size: P, 0 <= P < H (torch.nn's rule). With P > 0 each step projects its output,
            ``h_t = (o_t * tanh(c_t)) W_hr^T`` (Sak et al. 2014), so ``h`` has P units and
            the layer above reads D*P features. The fast kernels have no projection: ``"auto"``
            runs such a layer on the reference loop, and ``path="fast"`` is an error.
        peephole: add ``weight_peephole_l{l}`` (3, H), the elementwise weights from the cell to
            the i, f and o gates (Gers & Schmidhuber 2000). torch.nn has no peepholes.
        forget_bias: if given, initialise every forget gate's total bias to this value.

    Shapes:
        ``x`` (B, T, I), ``outputs`` (B, T, D*H); ``state`` is :class:`LSTMState` ``(h, c)``,
        each (L*D, B, H); a plain ``(h, c)`` tuple is accepted as input. Default state zeros.
        With ``proj_size`` P > 0: ``outputs`` (B, T, D*P), ``h`` (L*D, B, P), ``c``
        (L*D, B, H), and ``record`` gives the projected ``h`` as ``trace.hidden``.

    Parameters:
        ``weight_ih_l{l}`` (4H, I or D*H), ``weight_hh_l{l}`` (4H, H), ``bias_ih_l{l}`` and
        ``bias_hh_l{l}`` (4H,), suffix ``_reverse`` for the reverse direction;
        U(-1/sqrt(H), 1/sqrt(H)). With P > 0, as torch.nn.LSTM: ``weight_hh_l{l}`` (4H, P),
        ``weight_ih_l{l}`` (4H, I or D*P) and ``weight_hr_l{l}`` (P, H).

    Example:
        >>> lstm = LSTM(3, 5, forget_bias=1.0)
        >>> outputs, (h, c) = lstm(torch.randn(2, 6, 3))
        >>> tuple(c.shape)
        (1, 2, 5)
    """

    _state_names = ("h", "c")
    _trace_type = LSTMTrace

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        *,
        peephole: bool = False,
        forget_bias: float | None = None,
        path: str | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, path
        )
        self.proj_size = check_size("proj_size", proj_size, minimum=0)
        if self.proj_size >= self.hidden_size:
            raise ValueError(
                f"proj_size must be smaller than hidden_size ({self.hidden_size}), as in "
                f"torch.nn.LSTM; got proj_size={proj_size}"
            )
        self.peephole = check_bool("peephole", peephole)
        self.forget_bias = check_forget_bias(forget_bias)
        if self.forget_bias is not None and not self.bias:
            raise ValueError("forget_bias needs bias=True; got bias=False")
        self._build(device, dtype)

    @property
    def output_size_per_direction(self) -> int:
        """P with a projection, else H."""
        return self.proj_size or self.hidden_size

    def _parameter_shapes(self, input_size):
        return lstm_parameter_shapes(
            input_size, self.hidden_size, self.bias, self.peephole, self.proj_size
        )

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) everywhere, then the forget bias if one was asked for."""
        super().reset_parameters(generator)
        if self.forget_bias is not None:
            for layer in range(self.num_layers):
                for direction in range(self.num_directions):
                    p = self._step_parameters(layer, direction)
                    set_forget_bias_(p["bias_ih"], p["bias_hh"], self.forget_bias)

    def _state_sizes(self):
        return (self.output_size_per_direction, self.hidden_size)  # h (P or H), c (H)

    def _state_rest(self):
        return (0.0, 0.0)

    @property
    def _has_fast_kernel(self) -> bool:
        # The kernels compute h = o * tanh(c): a projected LSTM runs on the reference loop.
        return self.proj_size == 0

    def _choose_fast_path(self, x: torch.Tensor) -> bool:
        if self.proj_size and resolve_path(self.path) == "fast":
            raise ValueError(
                f"path='fast' cannot serve this call: the fast kernels have no projection "
                f"(proj_size={self.proj_size}); use path='auto' or 'reference'"
            )
        return super()._choose_fast_path(x)

    _gates = 4
    _kernel_parameters = (*RecurrentLayer._kernel_parameters, "weight_peephole")

    def _fast_direction(self, x, state, lengths, p, reverse, record):
        compiled = self._loops(x)
        outputs, h, c, cells, gates = lstm_kernel.LSTMFunction.apply(
            x, state[0], state[1], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
            p["weight_peephole"], lengths, reverse, compiled,
            self._kernel_reference(lengths, reverse, (1, 2)),
        )  # fmt: skip
        return outputs, (h, c), (outputs, cells, gates)

    def _has_fused_kernel(self, batch_size: int) -> bool:
        # oneDNN's LSTM (torch.lstm) was as fast as our kernels or faster up to a size (see
        # rnnlab.kernels.dispatch); it has no peepholes, and it gives no cell states or gates
        # for record().
        # Its projection (proj_size) is not wired up here: a projected LSTM runs the reference.
        return (
            not self.peephole
            and not self.proj_size
            and use_fused_lstm(batch_size, self.hidden_size)
        )

    def _fused_unroll(self, x, parts):
        h0, c0 = parts  # each (L*D, B, H)
        weights = [
            getattr(self, f"{name}_l{layer}" + ("_reverse" if direction else ""))
            for layer in range(self.num_layers)
            for direction in range(self.num_directions)
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")[: 4 if self.bias else 2]
        ]
        outputs, h, c = torch.lstm(
            x, (h0, c0), weights, self.bias, self.num_layers, self.dropout, self.training,
            self.bidirectional, True,
        )  # fmt: skip
        return outputs, (h, c), None

    def _step(self, x_t, state, p):
        new_state, gates = lstm_step(
            x_t, LSTMState(*state), p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
            p["weight_peephole"], p["weight_hr"],
        )  # fmt: skip
        return tuple(new_state), (new_state.h, new_state.c, gates)

    def _public_state(self, parts):
        return LSTMState(*parts)

    def _state_parts(self, state):
        if isinstance(state, tuple) and len(state) == 2:
            return tuple(state)
        raise TypeError(
            f"state must be an LSTMState(h, c) (or a tuple (h, c)), each (L*D, B, H) "
            f"(h (L*D, B, P) with proj_size P); got {type(state).__name__}"
        )

    def extra_repr(self) -> str:
        projection = f", proj_size={self.proj_size}" if self.proj_size else ""
        return (
            super().extra_repr()
            + projection
            + f", peephole={self.peephole}, forget_bias={self.forget_bias}"
        )


# -- state helpers ------------------------------------------------------------------------


def state_tensors(state) -> tuple[torch.Tensor, ...]:
    """A layer state as a tuple of tensors: ``(h,)`` or ``(h, c)``."""
    return tuple(state) if isinstance(state, LSTMState) else (state,)


def state_from_tensors(tensors: tuple[torch.Tensor, ...]):
    """The inverse of :func:`state_tensors`."""
    return LSTMState(*tensors) if len(tensors) == 2 else tensors[0]
