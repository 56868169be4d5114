"""Recurrent layers over whole sequences: the one unroll of a cell spec; Elman, Jordan, GRU, LSTM
and the continuous-time CTRNN.

Every layer stacks ``num_layers`` layers of one cell family, optionally in both directions,
and unrolls them over a batch-first sequence::

    outputs, state = layer(x, state=None, lengths=None)
    # x (B, T, I) -> outputs (B, T, D*H); state (L*D, B, H), or LSTMState(h, c) for the LSTM

:class:`RecurrentLayer` does this for any family, from the family's
:class:`~rnnlab.cells.spec.CellSpec` (its step, parameters, state, trace and initialisation,
one file in :mod:`rnnlab.cells`): the parameters, the one validation of a call, the state
helpers, the unroll, ``record`` and empty batches. :class:`Elman`, :class:`Jordan`,
:class:`GRU` and :class:`LSTM` are thin constructors over their specs with torch.nn's
signatures; :class:`CTRNN` adds what a call draws (its noise, :meth:`_per_step_tensors`), its
buffers (connectivity masks, Dale's signs between layers) and its learned initial state.
Parameter names are torch.nn's (``weight_ih_l0``, ``weight_hh_l1_reverse``, ...), so state
dicts move between ``rnnlab.LSTM`` and ``torch.nn.LSTM(..., batch_first=True)`` both ways and
the results agree.

Two paths compute the same function (``path=``, :mod:`rnnlab.kernels.dispatch`). The default,
``"auto"``, runs a family's fast kernels from :mod:`rnnlab.kernels` wherever they can serve the
call (registered per spec in :data:`KERNELS`; float32 or float64 on the CPU), and the reference
path otherwise. The reference path is :meth:`RecurrentLayer._run_direction`, a Python loop over
time of the spec's step function, written to be read: the oracle that every kernel is tested
against, and what a family without a kernel runs. Gradients with a graph (``create_graph=True``)
and gradients through ``record``'s gates and cells differentiate the reference unroll even on
the fast path (:mod:`rnnlab.kernels.second_order`).

Variable-length batches use ``lengths`` instead of PackedSequence: at ``t >= lengths[b]``
the outputs are exactly 0 and the state stops changing, so the final state of sequence ``b`` is
its state after step ``lengths[b] - 1`` (forward) or after step 0 (reverse direction, which
starts at ``lengths[b] - 1``).
"""

import numbers
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from rnnlab.cells import ctrnn
from rnnlab.cells.base import check_bool, check_size
from rnnlab.cells.ctrnn import CTRNN_SPEC, CTRNNTrace, CTRNNWeights
from rnnlab.cells.elman import ELMAN_SPEC, ElmanTrace
from rnnlab.cells.gru import GRU_SPEC, GRUTrace
from rnnlab.cells.jordan import JORDAN_SPEC, JordanTrace
from rnnlab.cells.lstm import LSTM_SPEC, LSTMState, LSTMTrace
from rnnlab.cells.mingru import MINGRU_SPEC, MinGRUTrace, mingru_log_coefficients
from rnnlab.cells.minlstm import MINLSTM_SPEC, MinLSTMTrace, minlstm_log_coefficients
from rnnlab.cells.spec import CellSpec
from rnnlab.kernels import ctrnn as ctrnn_kernel
from rnnlab.kernels import elman as elman_kernel
from rnnlab.kernels import elman_members, gru_members, jordan_members, lstm_members, scan, tuning
from rnnlab.kernels import gru as gru_kernel
from rnnlab.kernels import jordan as jordan_kernel
from rnnlab.kernels import lstm as lstm_kernel
from rnnlab.kernels.common import ACTIVATION_CODES
from rnnlab.kernels.dispatch import (
    check_path,
    choose_loops,
    fast_path_problem,
    loops_for,
    resolve_path,
    use_fused_lstm,
)

__all__ = [
    "CTRNN",
    "GRU",
    "KERNELS",
    "LSTM",
    "MEMBER_KERNELS",
    "CTRNNTrace",
    "Elman",
    "ElmanTrace",
    "FastKernel",
    "GRUTrace",
    "Jordan",
    "JordanTrace",
    "LSTMState",
    "LSTMTrace",
    "MinGRU",
    "MinGRUTrace",
    "MinLSTM",
    "MinLSTMTrace",
    "RecurrentLayer",
]

State = tuple[torch.Tensor, ...]  # one direction of one layer: (h,), (h, c) or (y,)

# What can serve a fast-path call: torch's fused kernel (where it serves the configuration),
# the compiled loops, the loop of torch calls with the compiled backward.
FUSED, COMPILED, TORCH_LOOP = "torch fused", "compiled loop", "torch loop, compiled backward"


class RecurrentLayer(nn.Module):
    r"""Any cell family over sequences: stacking, directions, lengths, dropout and ``record``.

    The family is its :class:`~rnnlab.cells.spec.CellSpec`; everything else is the same for
    every family. :class:`Elman`, :class:`Jordan`, :class:`GRU` and :class:`LSTM` are this
    class with their spec and torch.nn's signatures; a family of one's own needs only its spec.

    Args:
        spec: the cell family.
        input_size: I, an int >= 1.
        hidden_size: H, an int >= 1.
        num_layers: L, stacked layers, an int >= 1.
        bias: learn the biases the spec names (a bool).
        batch_first: only ``True`` (rnnlab is batch first; see :class:`Elman`).
        dropout: dropout on the outputs of every layer but the last, in training mode; in
            [0, 1], and 0 when ``num_layers=1``.
        bidirectional: add a reverse-time direction, D = 2 (a bool).
        path: ``"auto"``, ``"fast"`` or ``"reference"`` (:mod:`rnnlab.kernels.dispatch`); a
            family without a kernel runs the reference, and ``"fast"`` is then an error.
        **options: the family's options (``nonlinearity="relu"``, ...), checked by
            ``spec.check_options``; the layer holds each as an attribute of its name, which is
            where every spec function reads it from.

    Shapes:
        ``x`` (B, T, I), ``lengths`` (B,), ``outputs`` (B, T, D*S) with S the size of the
        spec's output part, each state part (L*D, B, size); the state is one tensor or the
        spec's ``state_type``. A one-tensor state is called ``h`` in messages, as torch.nn's
        ``h_0``, whatever the family calls its part.

    Example:
        >>> from rnnlab.cells import GRU_SPEC
        >>> layer = RecurrentLayer(GRU_SPEC, 3, 5, num_layers=2)
        >>> outputs, state = layer(torch.randn(4, 7, 3))
        >>> tuple(outputs.shape), tuple(state.shape)
        ((4, 7, 5), (2, 4, 5))
    """

    def __init__(
        self,
        spec: CellSpec,
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
        **options,
    ) -> None:
        super().__init__()
        if not isinstance(spec, CellSpec):
            raise TypeError(f"spec must be an rnnlab.cells.CellSpec; got {type(spec).__name__}")
        self.spec = spec
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
        checked = spec.check_options(self.hidden_size, self.bias, **options)
        for name, value in checked.items():
            if hasattr(self, name):
                raise ValueError(f"{spec.name}: option {name!r} would hide the layer's {name}")
            setattr(self, name, value)
        self._option_names = tuple(checked)
        names = spec.parameter_shapes(1, self.hidden_size, self.bias, checked)
        self._parameter_names = tuple(names)
        self._build(device, dtype)

    @property
    def options(self) -> dict[str, object]:
        """The family's options, by name, as every spec function takes them."""
        return {name: getattr(self, name) for name in self._option_names}

    @property
    def output_size_per_direction(self) -> int:
        """Features each direction contributes to ``outputs``: H (O for Jordan, P for a
        projected LSTM), the size of the spec's output part."""
        return self._state_sizes()[self.spec.output_part]

    def readout_units(self) -> torch.Tensor | None:
        """The features of ``outputs`` (D*H at each step, both directions) that a readout of
        this layer may read, only through non-negative weights: the excitatory units of each
        direction under Dale's law (the spec's ``readout_units``); None: every feature, with
        weights of either sign."""
        units = self.spec.readout_units(self.hidden_size, self.options)
        if units is None:
            return None
        size = self.output_size_per_direction
        return torch.cat([units + size * d for d in range(self.num_directions)])

    # -- parameters -------------------------------------------------------------------------

    def _build(self, device, dtype) -> None:
        """Register every layer's and direction's parameters under torch.nn's names."""
        options = self.options
        for layer in range(self.num_layers):
            layer_input_size = (
                self.input_size
                if layer == 0
                else self.num_directions * self.output_size_per_direction
            )
            shapes = self.spec.parameter_shapes(
                layer_input_size, self.hidden_size, self.bias, options
            )
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                for name, shape in shapes.items():
                    parameter = None
                    if shape is not None:
                        parameter = nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
                    self.register_parameter(name + suffix, parameter)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Initialise every layer and direction as the spec says, in order: torch.nn's
        U(-1/sqrt(H), 1/sqrt(H)) unless the family says otherwise (the LSTM's forget bias)."""
        options = self.options
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                self.spec.initialise(
                    self._step_parameters(layer, direction), self.hidden_size, options, generator
                )

    def _step_parameters(self, layer: int, direction: int) -> dict[str, torch.Tensor | None]:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        return {name: getattr(self, name + suffix) for name in self._parameter_names}

    def _first_parameter(self) -> torch.Tensor:
        """The parameters' dtype and device, for the state and the checks."""
        return next(self.parameters())

    # -- the public interface ---------------------------------------------------------------

    def initial_state(self, batch_size: int):
        """The state a sequence starts from when none is given, in the public layout."""
        batch_size = check_size("batch_size", batch_size, minimum=0)
        return self._public_state(self._default_state(batch_size, self._first_parameter()))

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

        Same arguments as ``forward``. Returns the spec's trace type (:class:`ElmanTrace`,
        :class:`LSTMTrace`, ...), each field of shape (L*D, B, T, ...), with zeros at padded
        steps. Gradients flow through the trace.
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
            [
                p
                for name, p in self._step_parameters(layer, direction).items()
                if name in self._parameter_names and p is not None
            ]
            for layer in range(self.num_layers)
            for direction in range(self.num_directions)
        ]

    # -- the unroll ---------------------------------------------------------------------------

    def _unroll(self, x, state, lengths, record: bool):
        x, parts, lengths = self.check_inputs(x, state, lengths)
        if x.shape[0] == 0:
            return self._unroll_empty_batch(x, parts, record)
        use_fast = self._choose_fast_path(x)
        if not use_fast:
            return self._unroll_checked(x, parts, lengths, record, use_fast)
        choice = None
        if self._loop_choice is None and tuning.enabled():
            choice = self._measured_choice(x, lengths is not None, record)
        if choice is None:
            return self._unroll_checked(x, parts, lengths, record, use_fast)
        self.__dict__["_loop_choice"] = choice
        try:  # this call on the loop measured fastest for its shape class
            return self._unroll_checked(x, parts, lengths, record, use_fast)
        finally:
            self.__dict__["_loop_choice"] = None

    def _unroll_checked(self, x, parts, lengths, record: bool, use_fast: bool):
        """:meth:`_unroll` of checked inputs (B >= 1) on the path chosen for them."""
        B, T, _ = x.shape
        if use_fast:
            path = self._path_of_call(B, x.dtype, lengths is not None, record)
            self.__dict__["last_path"] = path
            if path == FUSED:
                return KERNELS[self.spec].fused_unroll(self, x, parts)
        states = [tuple(part[k] for part in parts) for k in range(len(parts[0]))]
        per_step = self._per_step_tensors(x)  # the CTRNN's noise; nothing for the others
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
                p = {**self._step_parameters(layer, direction), **per_step[k]}
                outputs_d, final_d, trace_d = run_direction(
                    layer_input, states[k], mask, p, reverse=direction == 1, record=record
                )
                direction_outputs.append(outputs_d)
                finals.append(final_d)
                traces.append(trace_d)
            layer_input = _cat(direction_outputs)  # (B, T, D*H)
            if layer < self.num_layers - 1 and self.dropout > 0:
                layer_input = F.dropout(layer_input, self.dropout, self.training)

        final = tuple(_stack(parts) for parts in zip(*finals))  # each (L*D, B, H)
        trace = None
        if record:
            trace = self.spec.trace_type(*(_stack(items) for items in zip(*traces)))
        return layer_input, final, trace

    def _run_direction(self, x, state: State, mask, p, reverse: bool, record: bool):
        """The reference path: one layer in one direction, a loop of the spec's step.

        x (B, T, I_l) -> outputs (B, T, S), the final state, and (with ``record``) the trace
        items stacked to (B, T, ...). ``mask`` (B, T) marks the valid steps, or None for all.
        """
        step, options, spec = self.spec.step, self.options, self.spec
        T = x.shape[1]
        outputs: list[torch.Tensor | None] = [None] * T
        kept: list[tuple[torch.Tensor, ...] | None] = [None] * T
        # The tensors a call gives one per step (B, T, ...), which each step sees at its t.
        sequences = {name: p[name] for name in spec.per_step if p.get(name) is not None}
        for t in reversed(range(T)) if reverse else range(T):
            p_t = {**p, **{name: s[:, t] for name, s in sequences.items()}} if sequences else p
            new_state, items = step(x[:, t], state, p_t, options)
            if mask is not None:
                valid = mask[:, t]  # (B,)
                # Past its end a sequence keeps its state; in reverse it has not started yet.
                new_state = tuple(_where(valid, new, old) for new, old in zip(new_state, state))
                items = tuple(_where(valid, item, torch.zeros_like(item)) for item in items)
            state = new_state
            output = spec.outputs_from(state, options)
            outputs[t] = output if mask is None else _where(valid, output, torch.zeros_like(output))
            if record:
                kept[t] = items
        trace = tuple(torch.stack(column, dim=1) for column in zip(*kept)) if record else ()
        return torch.stack(outputs, dim=1), state, trace

    def _per_step_tensors(self, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """What this call gives each layer and direction (index ``layer * D + direction``)
        beside its parameters: tensors named in the spec's ``per_step``, each (B, T, ...),
        which every step sees at its own t. None for the families here but the CTRNN, which
        draws its noise in this method."""
        return [{} for _ in range(self.num_layers * self.num_directions)]

    def _unroll_empty_batch(self, x, parts: State, record: bool):
        """A batch of no sequences (B = 0): outputs (0, T, D*H), state (L*D, 0, H), as torch.nn.

        There is nothing to compute, but the results must hang off ``x``, the state and every
        parameter, as torch.nn's do, so that autograd returns the same empty or zero gradients
        (to every order) instead of failing. One reference step of each layer and direction
        on its zero rows gives every shape and that graph; the kernels never see B = 0.
        """
        T = x.shape[1]
        options = self.options
        finals: list[State] = []
        traces: list[tuple[torch.Tensor, ...]] = []
        layer_input = x[:, 0]  # (0, I) for layer 0, then (0, D*H)
        for layer in range(self.num_layers):
            direction_outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                state_k = tuple(part[k] for part in parts)  # each (0, size)
                new_state, items = self.spec.step(
                    layer_input, state_k, self._step_parameters(layer, direction), options
                )
                direction_outputs.append(self.spec.outputs_from(new_state, options))
                finals.append(new_state)
                traces.append(tuple(_repeat_in_time(item, T) for item in items))
            layer_input = _cat(direction_outputs)
        final = tuple(_stack(parts) for parts in zip(*finals))  # each (L*D, 0, size)
        trace = None
        if record:
            trace = self.spec.trace_type(*(_stack(items) for items in zip(*traces)))
        return _repeat_in_time(layer_input, T), final, trace  # outputs (0, T, D*H)

    # -- the fast path ----------------------------------------------------------------------

    def _kernel_problem(self) -> str | None:
        """Why this family and configuration has no fast path, or None if it has one."""
        kernel = KERNELS.get(self.spec)
        if kernel is None:
            return f"{self.spec.name} has no fast kernel yet; use path='auto' or 'reference'"
        return kernel.problem(self.options)

    def _choose_fast_path(self, x: torch.Tensor) -> bool:
        """True to run the kernels: asked for (or ``auto``) and able to serve ``x``."""
        path = resolve_path(self.path)
        if path == "reference":
            return False
        problem = self._kernel_problem()
        if problem is None and KERNELS[self.spec].whole_sequence is None:
            problem = fast_path_problem(x)  # a whole-sequence kernel is torch calls: any device
        if problem is not None and path == "fast":
            raise ValueError(f"path='fast' cannot serve this call: {problem}")
        return problem is None

    # The loop a call runs on, chosen by measurement (rnnlab.kernels.tuning) for the call in
    # progress; None: the size rules of rnnlab.kernels.dispatch decide.
    _loop_choice: str | None = None
    last_path: str | None = None  # which implementation served the last fast-path call

    def _has_fused_kernel(self, batch_size: int) -> bool:
        """True where torch's fused kernel runs this call (whole stack): measured fastest, or
        where no measurement was made, faster by the size rules."""
        kernel = KERNELS.get(self.spec)
        if kernel is None or kernel.fusable is None or not kernel.fusable(self):
            return False
        if self._loop_choice is not None:
            return self._loop_choice == FUSED
        return kernel.fused(self, batch_size)

    def _path_of_call(self, batch_size: int, dtype, lengths: bool, record: bool) -> str:
        """The name of what serves a fast-path call (:data:`FUSED`, :data:`COMPILED`,
        :data:`TORCH_LOOP`, or a whole-sequence kernel's name)."""
        if KERNELS[self.spec].whole_sequence is not None:
            return KERNELS[self.spec].whole_sequence
        if not record and not lengths and self._has_fused_kernel(batch_size):
            return FUSED
        forward, backward = self._loops(batch_size, dtype)
        if forward:
            return COMPILED
        return TORCH_LOOP if backward else "torch loop"

    def _measured_choice(self, x: torch.Tensor, lengths: bool, record: bool) -> str | None:
        """The loop measured fastest for this call's shape class (:mod:`rnnlab.kernels.tuning`),
        measured now if it was not yet on this machine."""
        B, T, I = x.shape
        kernel = KERNELS[self.spec]
        if kernel.whole_sequence is not None:  # one kernel, no loops to choose between
            return None
        candidates = [COMPILED, TORCH_LOOP]
        if not record and not lengths and kernel.fusable is not None and kernel.fusable(self):
            candidates.insert(0, FUSED)
        default = self._path_of_call(B, x.dtype, lengths, record)
        if default not in candidates:  # no compiled backward for this dtype: nothing to choose
            return None
        grad = torch.is_grad_enabled()
        steps = tuning.probe_steps(T, B, self.hidden_size)
        options = {k: v for k, v in self.options.items() if isinstance(v, int | float | str)}
        key = (f"{self.spec.name} {sorted(options.items())} L={self.num_layers} "
               f"D={self.num_directions} I={I} H={self.hidden_size} B={B} T={steps} "
               f"{str(x.dtype).removeprefix('torch.')} record={record} lengths={lengths} "
               f"train={self.training} grad={grad}")  # fmt: skip
        made: list = []  # the probe, made at the first measurement (none once it is kept)

        def run(choice: str) -> float:
            if not made:
                generator = torch.Generator().manual_seed(0)
                made.append(torch.randn(B, steps, I, dtype=x.dtype, generator=generator))
                made.append(torch.full((B,), steps, dtype=torch.int64) if lengths else None)
                made.append([p for p in self.parameters() if p.requires_grad])
            probe, full, weights = made
            self.__dict__["_loop_choice"] = choice
            source = own_noise(self)
            kept = None if source is None else source.get_state()
            try:
                with torch.random.fork_rng(devices=[]):
                    start = time.perf_counter()
                    outputs, _, _ = self._unroll(probe, None, full, record)
                    if grad and weights and outputs.requires_grad:
                        torch.autograd.grad(outputs.sum(), weights, allow_unused=True)
                    return time.perf_counter() - start
            finally:
                self.__dict__["_loop_choice"] = None
                if kept is not None:
                    source.set_state(kept)

        return tuning.choose(key, candidates, default, run)

    def fast_path_name(self, batch_size: int, lengths: bool = False, record: bool = False) -> str:
        """Which implementation the size rules pick for a float CPU call (where a call is
        measured, :attr:`last_path` says what served it): for benchmarks and curious users."""
        if resolve_path(self.path) == "reference" or self._kernel_problem() is not None:
            return "reference"
        return self._path_of_call(batch_size, self._first_parameter().dtype, lengths, record)

    def _loops(self, batch_size: int, dtype) -> tuple[bool, bool]:
        """Which of the kernels' loops run compiled: (forward, backward)."""
        if self._loop_choice is not None:
            return loops_for(self._loop_choice == COMPILED, dtype)
        kernel = KERNELS[self.spec]
        width = kernel.width(self.hidden_size, self.options)
        return choose_loops(batch_size, width, kernel.gates, dtype)

    def _fast_direction(self, x, state: State, lengths, p, reverse: bool, record: bool):
        """The kernels' version of :meth:`_run_direction`; ``lengths`` is an int64 array."""
        kernel = KERNELS[self.spec]
        if kernel.whole_sequence is not None:  # no loops to choose, nothing to fall back on
            return kernel.run(x, state, lengths, p, self.options, reverse, record)
        compiled = self._loops(x.shape[0], x.dtype)
        reference = self._kernel_reference(kernel, lengths, reverse)
        return kernel.run(x, state, lengths, p, self.options, reverse, compiled, reference)

    def _kernel_reference(self, kernel: "FastKernel", lengths: np.ndarray, reverse: bool):
        """This direction's reference unroll as a function of a kernel's tensor arguments.

        The kernels take ``(x, *state parts, *parameters)``, the parameters named by
        ``kernel.parameters``, and return ``(outputs, *final state parts, *trace items)``;
        ``kernel.trace`` picks those trace items from :meth:`_run_direction`'s trace. A kernel
        calls it only for what its own backward cannot give (gradients with a graph, or through
        the trace): see :mod:`rnnlab.kernels.second_order`.
        """
        names, extras = kernel.parameters, kernel.trace
        absent = dict.fromkeys(self._parameter_names)  # those no kernel takes are None
        parts = len(self.spec.state_names)

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

    # -- many members at once (rnnlab.models.ensemble) --------------------------------------

    def unroll_members(self, tensors: Mapping[str, torch.Tensor], x, state=None, lengths=None):
        """This layer's architecture run for N members at once, on the member kernel of its
        spec (:data:`MEMBER_KERNELS`): ``tensors`` are the members' parameters under this
        layer's names, stacked (N, ...); x (N, B, T, I), or (B, T, I) shared; ``state`` with N
        first or None; ``lengths`` (B,) shared or None. Returns ``(outputs (N, B, T, D*H),
        state with N first)``, or None where no member kernel serves the call (another family,
        path ``"reference"``, a CUDA tensor, active dropout, one length per member): the
        caller then runs the members one by one, the reference.
        """
        kernel = MEMBER_KERNELS.get(self.spec)
        first = next(iter(tensors.values()))
        N = first.shape[0]
        if (
            kernel is None
            or resolve_path(self.path) == "reference"
            or fast_path_problem(x) is not None
            or (self.dropout > 0 and self.training)
            or (lengths is not None and torch.as_tensor(lengths).dim() != 1)
            or self._kernel_problem() is not None
        ):
            return None
        one = x if x.dim() == 3 else x[0]
        one, lengths = self._check_input(one, lengths)  # the same checks as one member's call
        B, T, _ = one.shape
        if B == 0 or not kernel.serves(self, B):
            return None
        if state is None:
            parts = tuple(p.expand(N, *p.shape) for p in self._default_state(B, one))
        else:
            parts = (state,) if isinstance(state, torch.Tensor) else tuple(state)
            for k, part in enumerate(parts):
                if part.dim() != 4 or part.shape[0] != N:
                    raise ValueError(
                        f"an ensemble's state {self._state_labels()[k]} must have shape "
                        f"(N, L*D, B, size) with N = {N}; got {tuple(part.shape)}"
                    )
            self._check_state(self._public_state(tuple(p[0] for p in parts)), one)
        lengths_array = (
            np.full(B, T, dtype=np.int64)
            if lengths is None
            else lengths.cpu().numpy().astype(np.int64)
        )
        finals = []
        layer_input = x
        for layer in range(self.num_layers):
            direction_outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                p = {name: tensors.get(name + suffix) for name in self._parameter_names}
                outputs_d, final_d = kernel.run(
                    self, layer_input, tuple(part[:, k] for part in parts), lengths_array, p,
                    direction == 1,
                )  # fmt: skip
                direction_outputs.append(outputs_d)
                finals.append(final_d)
            layer_input = _cat(direction_outputs)  # (N, B, T, D*H)
        final = tuple(torch.stack(items, dim=1) for items in zip(*finals))  # (N, L*D, B, H)
        return layer_input, self._public_state(final)

    # -- the one validation, at the boundary ------------------------------------------------

    def check_inputs(self, x, state=None, lengths=None):
        """Check a call's arguments, as ``forward`` and ``record`` take them, with a message
        that says what was expected and what was got.

        Returns ``(x, parts, lengths)``: ``x`` (B, T, I) as given, the state's parts each
        (L*D, B, size) (the default state where ``state`` is None), and ``lengths`` as a (B,)
        integer tensor or None. The analysis (:mod:`rnnlab.analysis.gradient_flow`) checks its
        arguments here too.
        """
        x, lengths = self._check_input(x, lengths)
        return x, self._check_state(state, x), lengths

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
        like = self._first_parameter()
        if x.dtype != like.dtype:
            raise TypeError(
                f"x has dtype {x.dtype} but the layer's parameters are {like.dtype}; convert one "
                f"(x.to({like.dtype}) or layer.to({x.dtype}))"
            )
        if x.device != like.device:
            raise TypeError(
                f"x is on {x.device} but the layer's parameters are on {like.device}; move one "
                f"(x.to({str(like.device)!r}) or layer.to({str(x.device)!r}))"
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

    # -- the state --------------------------------------------------------------------------

    def _state_sizes(self) -> tuple[int, ...]:
        return self.spec.state_sizes(self.hidden_size, self.options)

    def _state_labels(self) -> tuple[str, ...]:
        """The parts' names in messages: the state type's fields, or torch.nn's ``h``."""
        return ("h",) if self.spec.state_type is None else self.spec.state_names

    def _default_state(self, batch_size: int, like: torch.Tensor) -> State:
        LD = self.num_layers * self.num_directions
        return tuple(
            like.new_full((LD, batch_size, size), rest)
            for size, rest in zip(self._state_sizes(), self.spec.rest_values(self.options))
        )

    def _public_state(self, parts: State):
        """The parts (L*D, B, size) as the user sees them: a tensor, or the spec's type."""
        state_type = self.spec.state_type
        return parts[0] if state_type is None else state_type(*parts)

    def _state_parts(self, state) -> State:
        """A public state's parts, or a TypeError that says what a state is."""
        state_type, sizes = self.spec.state_type, self._state_sizes()
        if state_type is None:
            if isinstance(state, torch.Tensor):
                return (state,)
            raise TypeError(
                f"state must be a torch.Tensor of shape (L*D, B, {sizes[0]}); "
                f"got {type(state).__name__}"
            )
        names = self.spec.state_names
        if isinstance(state, tuple) and len(state) == len(names):
            return tuple(state)
        layout = self.spec.state_layout or ", ".join(
            f"{name} (L*D, B, {size})" for name, size in zip(names, sizes)
        )
        fields = ", ".join(names)
        raise TypeError(
            f"state must be {state_type.__name__}({fields}) (or a tuple ({fields})), "
            f"{layout}; got {type(state).__name__}"
        )

    def _check_state(self, state, x: torch.Tensor) -> State:
        """Validate a public state; its parts, each (L*D, B, size)."""
        B = x.shape[0]
        LD = self.num_layers * self.num_directions
        if state is None:
            return self._default_state(B, x)
        parts = self._state_parts(state)
        for name, tensor, size in zip(self._state_labels(), parts, self._state_sizes()):
            if not isinstance(tensor, torch.Tensor):
                raise TypeError(f"state {name} must be a torch.Tensor; got {type(tensor).__name__}")
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
        return parts

    def extra_repr(self) -> str:
        options = "".join(f", {name}={value!r}" for name, value in self.options.items())
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"bias={self.bias}, bidirectional={self.bidirectional}, dropout={self.dropout}"
            f"{options}"
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


# -- the fast kernels, registered per cell spec ---------------------------------------------


def _hidden_width(hidden_size: int, options: Mapping) -> int:
    return hidden_size


def _every_configuration(options: Mapping) -> str | None:
    return None


@dataclass(frozen=True)
class FastKernel:
    """A family's fast path: how :class:`RecurrentLayer` calls its kernel in
    :mod:`rnnlab.kernels`, and what the dispatch needs to choose its loops.

    Attributes:
        run: ``(x, state, lengths, params, options, reverse, compiled, reference) ->
            (outputs, final state, trace items)``, one layer and direction, as
            :meth:`RecurrentLayer._run_direction` returns them; ``lengths`` an int64 array
            (B,), ``compiled`` the (forward, backward) loop choice, ``reference`` the same
            direction's reference unroll for what the kernel's backward cannot give.
        parameters: the parameters the kernel takes after the state, in its order.
        trace: which of the spec's trace items the kernel returns after the final state
            (and so the reference must return too).
        gates: the number of gates, by which :func:`rnnlab.kernels.dispatch.choose_loops`
            measures a step's work.
        width: ``(hidden_size, options) -> units``, the width of a step's work (H; H + O for
            Jordan).
        problem: ``options -> str | None``, why the kernel cannot serve a configuration of
            the family (the LSTM's projection), or None.
        fusable: optional ``layer -> bool``: True where torch's fused kernel can run the
            whole stack instead (no ``lengths``, no ``record``), a candidate of the measured
            choice (:mod:`rnnlab.kernels.tuning`).
        fused: ``(layer, batch_size) -> bool``, with ``fusable``: True where the size rules
            run the fused kernel (where no measurement is made).
        fused_unroll: ``(layer, x, parts) -> (outputs, final parts, None)``, that fused run.
        whole_sequence: the name of a kernel that computes a whole direction in torch
            operations at once (the parallel scan of the minGRU and minLSTM), or None for a
            loop over time. Such a kernel has no loops for the dispatch to choose and no
            reference to fall back on (autograd differentiates it to every order); its ``run``
            is ``(x, state, lengths, params, options, reverse, record) -> (outputs, final
            state, trace items)``, the trace items only with ``record``; it serves any device
            and dtype torch does, and :meth:`RecurrentLayer.fast_path_name` gives its name.
    """

    run: Callable
    parameters: tuple[str, ...]
    trace: tuple[int, ...]
    gates: int
    width: Callable[[int, Mapping], int] = _hidden_width
    problem: Callable[[Mapping], str | None] = _every_configuration
    fusable: Callable[["RecurrentLayer"], bool] | None = None
    fused: Callable[["RecurrentLayer", int], bool] | None = None
    fused_unroll: Callable | None = None
    whole_sequence: str | None = None


def _elman_direction(x, state, lengths, p, options, reverse, compiled, reference):
    outputs, h = elman_kernel.ElmanFunction.apply(
        x, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], lengths,
        reverse, ACTIVATION_CODES[options["nonlinearity"]], compiled, reference,
    )  # fmt: skip
    return outputs, (h,), (outputs,)


def _jordan_direction(x, state, lengths, p, options, reverse, compiled, reference):
    codes = ACTIVATION_CODES
    outputs, y, hidden = jordan_kernel.JordanFunction.apply(
        x, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
        p["weight_ho"], p["bias_ho"], lengths, reverse, codes[options["nonlinearity"]],
        codes[options["output_nonlinearity"]], compiled, reference,
    )  # fmt: skip
    return outputs, (y,), (hidden, outputs)


def _jordan_width(hidden_size: int, options: Mapping) -> int:
    return hidden_size + options["output_size"]


def _gru_direction(x, state, lengths, p, options, reverse, compiled, reference):
    outputs, h, gates = gru_kernel.GRUFunction.apply(
        x, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], lengths,
        reverse, compiled, reference,
    )  # fmt: skip
    return outputs, (h,), (outputs, gates)


def _lstm_direction(x, state, lengths, p, options, reverse, compiled, reference):
    outputs, h, c, cells, gates = lstm_kernel.LSTMFunction.apply(
        x, state[0], state[1], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
        p["weight_peephole"], lengths, reverse, compiled, reference,
    )  # fmt: skip
    return outputs, (h, c), (outputs, cells, gates)


def _lstm_problem(options: Mapping) -> str | None:
    # The kernels compute h = o * tanh(c): a projected LSTM runs on the reference loop.
    if options["proj_size"]:
        return (
            f"the fast kernels have no projection (proj_size={options['proj_size']}); "
            "use path='auto' or 'reference'"
        )
    return None


def _lstm_fusable(layer: RecurrentLayer) -> bool:
    # oneDNN's LSTM (torch.lstm) has no peepholes, and it gives no cell states or gates for
    # record(). Its projection (proj_size) is not wired up here: a projected LSTM runs the
    # reference.
    return not layer.peephole and not layer.proj_size


def _lstm_fused(layer: RecurrentLayer, batch_size: int) -> bool:
    # oneDNN's LSTM was as fast as our kernels or faster up to a size (rnnlab.kernels.dispatch)
    return _lstm_fusable(layer) and use_fused_lstm(batch_size, layer.hidden_size)


def _lstm_fused_unroll(layer: RecurrentLayer, x: torch.Tensor, parts: State):
    h0, c0 = parts  # each (L*D, B, H)
    weights = [
        getattr(layer, f"{name}_l{index}" + ("_reverse" if direction else ""))
        for index in range(layer.num_layers)
        for direction in range(layer.num_directions)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")[: 4 if layer.bias else 2]
    ]
    outputs, h, c = torch.lstm(
        x, (h0, c0), weights, layer.bias, layer.num_layers, layer.dropout, layer.training,
        layer.bidirectional, True,
    )  # fmt: skip
    return outputs, (h, c), None


def _ctrnn_effective(x, *tensors, options):
    """:func:`rnnlab.cells.ctrnn.step_tensors` of the CTRNN kernel's tensor arguments."""
    return ctrnn.step_tensors(x, dict(zip(_CTRNN_TENSORS, tensors)), options)


def _ctrnn_direction(x, state, lengths, p, options, reverse, compiled, reference):
    effective = partial(_ctrnn_effective, options=options)
    outputs, v, currents = ctrnn_kernel.CTRNNFunction.apply(
        x, state[0], *(p.get(name) for name in _CTRNN_TENSORS), lengths, reverse,
        ctrnn_kernel.RATE_CODES[options["nonlinearity"]], compiled, effective, reference,
    )  # fmt: skip
    return outputs, (v,), (outputs, currents)


def _mingru_direction(x, state, lengths, p, options, reverse, record):
    return scan.scan_direction(
        mingru_log_coefficients, x, state[0], lengths, p, options, reverse, record
    )


def _minlstm_direction(x, state, lengths, p, options, reverse, record):
    return scan.scan_direction(
        minlstm_log_coefficients, x, state[0], lengths, p, options, reverse, record
    )


_KERNEL_PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
_SCAN_PARAMETERS = ("weight_ih", "bias_ih")
# The CTRNN kernel's tensors after the state: parameters, buffers and the call's noise.
_CTRNN_TENSORS = (*_KERNEL_PARAMETERS, "log_tau", "mask_hh", "sign_ih", "noise_hh", "noise_ih")

#: The fast paths, one per cell spec that has one: the whole registry, in plain sight. A spec
#: that is not here runs the reference unroll (and ``path="fast"`` says so).
KERNELS: dict[CellSpec, FastKernel] = {
    ELMAN_SPEC: FastKernel(_elman_direction, _KERNEL_PARAMETERS, trace=(), gates=1),
    JORDAN_SPEC: FastKernel(
        _jordan_direction,
        (*_KERNEL_PARAMETERS, "weight_ho", "bias_ho"),
        trace=(0,),
        gates=1,
        width=_jordan_width,
    ),
    GRU_SPEC: FastKernel(_gru_direction, _KERNEL_PARAMETERS, trace=(1,), gates=3),
    LSTM_SPEC: FastKernel(
        _lstm_direction,
        (*_KERNEL_PARAMETERS, "weight_peephole"),
        trace=(1, 2),
        gates=4,
        problem=_lstm_problem,
        fusable=_lstm_fusable,
        fused=_lstm_fused,
        fused_unroll=_lstm_fused_unroll,
    ),
    CTRNN_SPEC: FastKernel(_ctrnn_direction, _CTRNN_TENSORS, trace=(1,), gates=1),
    MINGRU_SPEC: FastKernel(
        _mingru_direction, _SCAN_PARAMETERS, trace=(1,), gates=2, whole_sequence="parallel scan"
    ),
    MINLSTM_SPEC: FastKernel(
        _minlstm_direction, _SCAN_PARAMETERS, trace=(1,), gates=2, whole_sequence="parallel scan"
    ),
}


def members_reference(layer: RecurrentLayer, lengths: np.ndarray, reverse: bool) -> Callable:
    """One direction of N members as torch operations: the members one by one on the layer's
    reference unroll (:meth:`RecurrentLayer._kernel_reference`), stacked. Takes a member
    kernel's tensor arguments, ``(x, *state parts, *parameters)`` with N first (x (N, B, T, I),
    or (B, T, I) shared), and returns ``(outputs, *final parts)``, N first. The oracle of the
    member kernels, and what their gradients with a graph differentiate."""
    kernel = KERNELS[layer.spec]
    single = layer._kernel_reference(kernel, lengths, reverse)
    returned = 1 + len(layer.spec.state_names)

    def reference(x, *tensors):
        N = tensors[0].shape[0]
        members = [
            single(x if x.dim() == 3 else x[k], *(None if t is None else t[k] for t in tensors))
            for k in range(N)
        ]
        return tuple(torch.stack(items) for items in zip(*(m[:returned] for m in members)))

    return reference


def _elman_members(layer, x, state, lengths, p, reverse):
    act = ACTIVATION_CODES[layer.options["nonlinearity"]]
    B, H = x.shape[-3], p["weight_hh"].shape[-1]
    small = B * H * H <= elman_members.INLINE_MAX_WORK
    kernel = elman_members.ElmanMembersInnermost if small else elman_members.ElmanMembersFunction
    outputs, h = kernel.apply(
        x, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], lengths,
        reverse, act, members_reference(layer, lengths, reverse),
    )  # fmt: skip
    return outputs, (h,)


def _gru_members(layer, x, state, lengths, p, reverse):
    outputs, h = gru_members.GRUMembersFunction.apply(
        x, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], lengths,
        reverse, members_reference(layer, lengths, reverse),
    )  # fmt: skip
    return outputs, (h,)


def _jordan_members(layer, x, state, lengths, p, reverse):
    codes = ACTIVATION_CODES
    outputs, y = jordan_members.JordanMembersFunction.apply(
        x, state[0], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
        p["weight_ho"], p["bias_ho"], lengths, reverse, codes[layer.options["nonlinearity"]],
        codes[layer.options["output_nonlinearity"]], members_reference(layer, lengths, reverse),
    )  # fmt: skip
    return outputs, (y,)


def _lstm_members(layer, x, state, lengths, p, reverse):
    outputs, h, c = lstm_members.LSTMMembersFunction.apply(
        x, state[0], state[1], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
        p["weight_peephole"], lengths, reverse, members_reference(layer, lengths, reverse),
    )  # fmt: skip
    return outputs, (h, c)


class MemberKernel(NamedTuple):
    """A kernel that runs one layer and direction of N members at once (ensembles): ``run(layer,
    x, state parts (N, B, size), lengths, stacked params, reverse) -> (outputs (N, B, T, H),
    final parts)``; ``serves(layer, B)`` says where it is faster than the members one by one
    (which run instead elsewhere)."""

    run: Callable
    serves: Callable[["RecurrentLayer", int], bool] = lambda layer, batch_size: True


def _lstm_members_serve(layer: RecurrentLayer, batch_size: int) -> bool:
    # At B H above 256 the members one by one on torch's fused LSTM (oneDNN) were faster:
    # (N, B, H) = (8, 32, 64) 1.5x, (3, 64, 37) 1.8x, (4, 16, 128) 1.2x; at (8, 8, 32) even;
    # below it the member kernel, (8, 1, 20) 1.4x and (16, 1, 20) 2.3x faster (bench/ensemble.py
    # and the same grid on the 2-core development machine).
    return batch_size * layer.hidden_size <= 256


#: The member kernels, per cell spec. A spec that is not here runs its members one by one.
MEMBER_KERNELS: dict[CellSpec, MemberKernel] = {
    ELMAN_SPEC: MemberKernel(_elman_members),
    JORDAN_SPEC: MemberKernel(_jordan_members),
    GRU_SPEC: MemberKernel(_gru_members),
    LSTM_SPEC: MemberKernel(_lstm_members, _lstm_members_serve),
}


# -- the families, as torch.nn names and orders their arguments -----------------------------


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
            ELMAN_SPEC, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, path=path, device=device, dtype=dtype, nonlinearity=nonlinearity,
        )  # fmt: skip


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
            JORDAN_SPEC, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, path=path, device=device, dtype=dtype, output_size=output_size,
            nonlinearity=nonlinearity, output_nonlinearity=output_nonlinearity,
        )  # fmt: skip


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
            GRU_SPEC, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, path=path, device=device, dtype=dtype,
        )  # fmt: skip


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
            LSTM_SPEC, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, path=path, device=device, dtype=dtype, proj_size=proj_size,
            peephole=peephole, forget_bias=forget_bias,
        )  # fmt: skip


class CTRNN(RecurrentLayer):
    r"""Continuous-time rate networks over sequences (Song, Yang & Wang 2016; Yang et al.
    2019): Euler steps of ``tau dv/dt = -v + W_hh f(v) + W_ih x + b + noise``, with Dale's law,
    connectivity masks, learned time constants and a learned initial state (the equations,
    defaults and sources are in :mod:`rnnlab.cells.ctrnn`).

    Each layer and direction computes, with ``alpha = dt / tau``::

        v_t = (1 - alpha) v_{t-1} + alpha (W_hh f(v_{t-1}) + b_hh + W_ih x_t + b_ih)
              + sigma_rec sqrt(2 alpha) xi_t
        h_t = f(v_t)

    **The outputs are the rates h_t**, which the layer above reads; **the state is the
    currents v** (the final ``state`` is v at each sequence's last step; ``f(state)`` is the
    last output). ``record`` returns :class:`CTRNNTrace`: ``hidden`` (the rates) and
    ``currents``. Noise (``sigma_rec``, ``sigma_in``) is drawn in training mode only, or also
    in eval with ``noise_in_eval=True``; from the layer's generator seeded with ``seed`` (its
    draws continue from call to call), else from torch's global generator.

    The arguments come in :class:`Elman`'s (torch.nn.RNN's) positional order,
    ``CTRNN(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout,
    bidirectional)``; the rest are keyword-only.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, path:
            as for :class:`Elman`.
        nonlinearity: f, ``"relu"`` (pycog's default), ``"softplus"``, ``"tanh"``,
            ``"retanh"`` (max(0, tanh)) or ``"sigmoid"``.
        tau: the time constant, > 0 (default 100, pycog's 100 ms, in the units of ``dt``).
        dt: the Euler step, > 0 (default ``tau / 5``: alpha = 0.2).
        learn_tau: learn one time constant per unit and layer, ``tau_i = exp(log_tau_i)``
            (always positive), starting at ``tau``; ``dt`` stays fixed.
        sigma_rec: the recurrent noise's sigma, >= 0 (pycog's default is 0.15; here 0).
        sigma_in: the input noise's sigma, >= 0; noise of s.d. ``sqrt(2 tau / dt) sigma_in``
            is added to the inputs of the first layer.
        noise_in_eval: draw noise in eval mode too.
        seed: seed of the layer's own noise generator (an int >= 0), or None for torch's.
        dale: Dale's law: ``floor(excitatory_fraction * H)`` excitatory units (the first),
            the rest inhibitory; the weights a step applies are ``|W_hh| diag(s)`` and
            ``|W_ih|`` (``|W_ih| diag(s)`` of the units below, for a layer above the first).
        excitatory_fraction: in (0, 1), default 0.8; only with ``dale=True``.
        connectivity: an (H, H) tensor that multiplies every layer's ``W_hh`` (0 removes a
            connection); non-negative under Dale. Kept as the buffers ``mask_hh_l{l}``, which
            state dicts save.
        v0: the value the currents start from (default 0).
        learn_v0: learn the initial currents, the parameters ``v0_l{l}`` (H,), from ``v0``.

    Shapes:
        ``x`` (B, T, I), ``outputs`` (B, T, D*H), ``state`` (L*D, B, H).

    Parameters:
        ``weight_ih_l{l}`` (H, I or D*H), ``weight_hh_l{l}`` (H, H), ``bias_ih_l{l}`` and
        ``bias_hh_l{l}`` (H,) (torch.nn.RNN's, so weights move to and from :class:`Elman`),
        ``log_tau_l{l}`` (H,) with ``learn_tau``, ``v0_l{l}`` (H,) with ``learn_v0``; suffix
        ``_reverse`` for the reverse direction. See :func:`rnnlab.cells.ctrnn.ctrnn_initialise`.

    Example:
        >>> net = CTRNN(3, 10, dale=True, sigma_rec=0.15, seed=0)
        >>> outputs, state = net(torch.rand(4, 7, 3))
        >>> tuple(outputs.shape), tuple(state.shape), net.excitatory_units.tolist()
        ((4, 7, 10), (1, 4, 10), [0, 1, 2, 3, 4, 5, 6, 7])
        >>> bool((net.effective_weights().weight_hh[:, 8:] <= 0).all())
        True
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "relu",
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        tau: float = 100.0,
        dt: float | None = None,
        learn_tau: bool = False,
        sigma_rec: float = 0.0,
        sigma_in: float = 0.0,
        noise_in_eval: bool = False,
        seed: int | None = None,
        dale: bool = False,
        excitatory_fraction: float | None = None,
        connectivity: torch.Tensor | None = None,
        v0: float = 0.0,
        learn_v0: bool = False,
        path: str | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            CTRNN_SPEC, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, path=path, device=device, dtype=dtype, nonlinearity=nonlinearity,
            tau=tau, dt=dt, learn_tau=learn_tau, sigma_rec=sigma_rec, sigma_in=sigma_in,
            noise_in_eval=noise_in_eval, seed=seed, dale=dale,
            excitatory_fraction=excitatory_fraction, v0=v0, learn_v0=learn_v0,
        )  # fmt: skip
        mask = ctrnn.check_connectivity(connectivity, self.hidden_size, self.dale)
        like = self._first_parameter()
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                if mask is not None:
                    self.register_buffer("mask_hh" + suffix, mask.to(like))
                if self.dale and layer > 0:  # the layer below's units, both directions
                    signs = ctrnn.unit_signs(self.hidden_size, self.excitatory_fraction, like)
                    signs = signs.repeat(self.num_directions)
                    self.register_buffer("sign_ih" + suffix, signs, persistent=False)
        self.noise = ctrnn.NoiseSource(self.seed)

    def _step_parameters(self, layer: int, direction: int) -> dict[str, torch.Tensor | None]:
        """The parameters, and the buffers a step reads: ``mask_hh`` (with a connectivity
        mask) and ``sign_ih`` (under Dale, above the first layer); None where absent."""
        p = super()._step_parameters(layer, direction)
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        for name in ("mask_hh", "sign_ih"):
            p[name] = getattr(self, name + suffix, None)
        return p

    def _per_step_tensors(self, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """The noise of this call, standard normal, where it draws any (see the class): the
        inputs' (B, T, I) for the first layer, then each layer and direction's (B, T, H)."""
        found = super()._per_step_tensors(x)
        if not ctrnn.noise_active(self, self.options):
            return found
        B, T, I = x.shape
        if self.sigma_in > 0:  # the same noisy inputs reach both directions
            noise_ih = self.noise.normal((B, T, I), x)
            for direction in range(self.num_directions):
                found[direction]["noise_ih"] = noise_ih
        if self.sigma_rec > 0:
            for extra in found:
                extra["noise_hh"] = self.noise.normal((B, T, self.hidden_size), x)
        return found

    def _default_state(self, batch_size: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``v0`` everywhere, or with ``learn_v0`` the learned ``v0_l{l}`` of each layer and
        direction, expanded over the batch (gradients reach them)."""
        if not self.learn_v0:
            return super()._default_state(batch_size, like)
        v0 = torch.stack(
            [
                getattr(self, f"v0_l{layer}" + ("_reverse" if direction else ""))
                for layer in range(self.num_layers)
                for direction in range(self.num_directions)
            ]
        )  # (L*D, H)
        return (v0[:, None, :].expand(-1, batch_size, -1),)

    def effective_weights(self, layer: int = 0, reverse: bool = False) -> CTRNNWeights:
        """The weights one layer and direction's steps apply now, after Dale's law and the
        mask: ``weight_ih`` (H, I or D*H) and ``weight_hh`` (H, H), with gradients."""
        layer = check_size("layer", layer, minimum=0)
        if layer >= self.num_layers:
            raise ValueError(f"layer must be in [0, {self.num_layers - 1}]; got {layer}")
        if check_bool("reverse", reverse) and not self.bidirectional:
            raise ValueError("reverse=True needs a bidirectional layer")
        return ctrnn.effective_weights(self._step_parameters(layer, int(reverse)), self.options)

    @property
    def excitatory_units(self) -> torch.Tensor:
        """The indices of every layer's excitatory units under Dale's law, the first
        ``floor(excitatory_fraction * H)``: the units a readout should read."""
        return ctrnn.excitatory_indices(self.hidden_size, self.options)


class MinGRU(RecurrentLayer):
    r"""Minimal GRUs over sequences (Feng et al. 2024): gates that read only x_t, so that each
    layer and direction is the linear recurrence ``h_t = (1 - z_t) h_{t-1} + z_t g(k_h)``,
    computed as a log-space parallel scan (equations in :mod:`rnnlab.cells.mingru`).

    Two paths compute the same function (``path=``): the default runs the whole sequence as
    a chunked Heinsen scan in torch operations (:mod:`rnnlab.kernels.scan`, on any device;
    ``fast_path_name`` says ``"parallel scan"``), ``path="reference"`` the layer's loop of
    :func:`rnnlab.cells.mingru.mingru_step` over time, the oracle. Both are differentiated by
    autograd, to every order.

    The arguments come in torch.nn.GRU's positional order, ``MinGRU(input_size, hidden_size,
    num_layers, bias, batch_first, dropout, bidirectional)``; ``path``, ``device`` and
    ``dtype`` are keyword-only.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, path:
            as for :class:`Elman`.

    Shapes:
        ``x`` (B, T, I), ``outputs`` (B, T, D*H), ``state`` (L*D, B, H); default state zeros
        (a given state may have any sign). ``record`` gives :class:`MinGRUTrace`.

    Parameters:
        ``weight_ih_l{l}`` (2H, I or D*H) = [W_h; W_z] and ``bias_ih_l{l}`` (2H,), suffix
        ``_reverse`` for the reverse direction; torch.nn.Linear's U(-1/sqrt(I_l),
        1/sqrt(I_l)), I_l the layer's input width. No recurrent weights.

    Example:
        >>> layer = MinGRU(3, 5, num_layers=2)
        >>> outputs, state = layer(torch.randn(4, 7, 3))
        >>> tuple(outputs.shape), tuple(state.shape), layer.fast_path_name(4)
        ((4, 7, 5), (2, 4, 5), 'parallel scan')
    """

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
            MINGRU_SPEC, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, path=path, device=device, dtype=dtype,
        )  # fmt: skip


class MinLSTM(RecurrentLayer):
    r"""Minimal LSTMs over sequences (Feng et al. 2024): forget and input gates that read only
    x_t, normalised to sum to one by default, so that each layer and direction is the linear
    recurrence ``h_t = f'_t h_{t-1} + i'_t g(k_h)``, computed as a log-space parallel scan
    (equations in :mod:`rnnlab.cells.minlstm`; the paths as for :class:`MinGRU`).

    The arguments come in torch.nn.LSTM's positional order up to ``bidirectional``;
    ``coefficient_norm``, ``forget_bias``, ``path``, ``device`` and ``dtype`` are
    keyword-only.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, path:
            as for :class:`Elman`.
        coefficient_norm: f' = f / (f + i) and i' = i / (f + i) (the default, the paper's);
            False uses f and i themselves.
        forget_bias: if given, every forget gate's bias starts at this value.

    Shapes:
        ``x`` (B, T, I), ``outputs`` (B, T, D*H), ``state`` (L*D, B, H), one tensor: the
        minLSTM has no separate cell state. ``record`` gives :class:`MinLSTMTrace`.

    Parameters:
        ``weight_ih_l{l}`` (3H, I or D*H) = [W_f; W_i; W_h] and ``bias_ih_l{l}`` (3H,),
        suffix ``_reverse``; torch.nn.Linear's U(-1/sqrt(I_l), 1/sqrt(I_l)).

    Example:
        >>> layer = MinLSTM(3, 5, bidirectional=True)
        >>> trace = layer.record(torch.randn(2, 6, 3))
        >>> tuple(trace.gates.shape)
        (2, 2, 6, 3, 5)
    """

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
        coefficient_norm: bool = True,
        forget_bias: float | None = None,
        path: str | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            MINLSTM_SPEC, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, path=path, device=device, dtype=dtype,
            coefficient_norm=coefficient_norm, forget_bias=forget_bias,
        )  # fmt: skip


def own_noise(module: nn.Module):
    """The generator of its own that ``module`` draws noise from (a CTRNN's ``noise``, with
    ``get_state`` and ``set_state``), or None: what a checkpoint and a probe must keep."""
    source = getattr(module, "noise", None)
    return source if callable(getattr(source, "get_state", None)) else None


# -- state helpers ------------------------------------------------------------------------


def state_tensors(state) -> tuple[torch.Tensor, ...]:
    """A layer state as a tuple of tensors: ``(h,)`` or ``(h, c)``."""
    return tuple(state) if isinstance(state, LSTMState) else (state,)


def state_from_tensors(tensors: tuple[torch.Tensor, ...]):
    """The inverse of :func:`state_tensors`."""
    return LSTMState(*tensors) if len(tensors) == 2 else tensors[0]
