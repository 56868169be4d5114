"""Trainable networks: one recurrent layer (stacked, directions) and a linear readout, one
class per output shape.

- :class:`Network` reads out at every step: x (B, T, I) gives outputs (B, T, O) (next-step
  prediction, per-step targets, forecasts);
- :class:`SequenceNetwork` reads out once per sequence: x (B, T, I) gives outputs (B, O), read
  from the last layer's final state (a class per sequence, such as a surname's language).

Both share :class:`RecurrentNetwork`: the encoding of the inputs (vectors as they are, token
ids one-hot or embedded), the layer, and dropout on what the readout reads. Each has a readout
module for its output kind, :class:`StepReadout` or :class:`FinalStateReadout`: a
``torch.nn.Linear`` (its parameters are ``readout.weight`` and ``readout.bias``) that also says
what of the layer it reads. :func:`rnnlab.models.config.build_model` picks the class from the
task's target kind. A layer under Dale's law (``rnnlab.CTRNN(..., dale=True)``) is read from its
excitatory units only, through non-negative weights (:class:`ExcitatoryReadout`): the network
picks the readout's Dale's-law kind from the layer, not from a flag.

>>> from rnnlab.layers import GRU
>>> _ = torch.manual_seed(0)
>>> every_step = Network(GRU(10, 8), 3, vocab_size=10)
>>> ids = torch.randint(0, 10, (2, 5))  # (B, T) token ids
>>> outputs, state = every_step(ids)
>>> tuple(outputs.shape), tuple(state.shape)
((2, 5, 3), (1, 2, 8))
>>> per_sequence = SequenceNetwork(GRU(10, 8, bidirectional=True), 3, vocab_size=10)
>>> outputs, state = per_sequence(ids, lengths=torch.tensor([5, 2]))
>>> tuple(outputs.shape), tuple(state.shape)
((2, 3), (2, 2, 8))
>>> sorted(per_sequence.state_dict())[-2:]
['readout.bias', 'readout.weight']
"""

import torch
from torch import nn

from rnnlab.layers import LSTMState, RecurrentLayer, state_tensors
from rnnlab.losses import Loss, predictions_from_outputs


class StepReadout(nn.Linear):
    """The readout at every step: a linear map of the layer's outputs, (B, T, D*H) to
    (B, T, O).

    The outputs are raw: logits, or values before the output activation that the task's loss
    implies (:func:`rnnlab.losses.predictions_from_outputs`). A Gaussian output (loss
    ``"gaussian_nll"``) is this readout with O = 2 O' values at each step:
    :func:`rnnlab.losses.gaussian_parts` reads the first O' as the means and the last O' as the
    log-variances (clamped to +-``LOG_VARIANCE_LIMIT``) of O' normal distributions.
    """

    def read(self, outputs: torch.Tensor, state) -> torch.Tensor:
        """What this readout reads of the layer: its outputs at every step (B, T, D*H)."""
        return outputs

    def members(self, read: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
        """N members' readouts at once: ``read`` (N, B, T, F), their ``weight`` (N, O, F)
        and ``bias`` (N, O) give (N, B, T, O)."""
        return torch.matmul(read, weight[:, None].transpose(-1, -2)) + bias[:, None, None]


class FinalStateReadout(nn.Linear):
    """The readout once per sequence: a linear map of the last layer's final state, both
    directions joined, (B, D*H) to (B, O).

    The layer's final state is the forward direction's after each sequence's last valid step
    and the reverse direction's after its first (see ``lengths`` in :mod:`rnnlab.layers`), so
    padding never reaches the output. What it reads of that state is what the layer outputs
    (its cell spec's :meth:`~rnnlab.cells.CellSpec.outputs_from`, with the layer's ``options``):
    h for every family but the continuous-time network, whose state is its units' currents and
    whose output their rates.
    """

    def __init__(
        self, in_features: int, out_features: int, num_directions: int, device=None,
        spec=None, options=None,
    ) -> None:  # fmt: skip
        super().__init__(in_features, out_features, device=device)
        self.num_directions = num_directions
        self.spec, self.options = spec, options

    def read(self, outputs: torch.Tensor, state) -> torch.Tensor:
        """What this readout reads of the layer: the last layer's final output (B, D*H)."""
        if self.spec is not None and self.spec.output is not None:
            h = self.spec.outputs_from(state_tensors(state), self.options)  # (L*D, B, H)
        else:
            h = state.h if isinstance(state, LSTMState) else state  # (L*D, B, H)
        D = self.num_directions
        return h[-D:].transpose(0, 1).reshape(h.shape[1], -1)  # (B, D*H)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, num_directions={self.num_directions}"


class ExcitatoryReadout:
    """Dale's law at a readout (Song, Yang & Wang 2016; pycog's ``W_out = [W_out]+`` on the
    excitatory units): the linear map reads only the features ``units`` of what it reads (the
    excitatory units of each direction, :meth:`rnnlab.layers.RecurrentLayer.readout_units`),
    through the absolute values of its weights, so that every weight it applies is >= 0
    whatever an update does::

        outputs = read[..., units] |W|^T + b            W: (O, len(units))

    Mixed into :class:`StepReadout` and :class:`FinalStateReadout`, which say what is read;
    ``weight`` and ``bias`` keep torch.nn.Linear's names (``units`` is not in the state dict).
    With torch.nn.Linear's initialisation, U(-1/sqrt(n), 1/sqrt(n)), the weights it applies
    start from U(0, 1/sqrt(n)).
    """

    units: torch.Tensor
    weight: nn.Parameter
    bias: nn.Parameter | None

    def forward(self, read: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(read.index_select(-1, self.units), self.weight.abs(), self.bias)

    def effective_weight(self) -> torch.Tensor:
        """(O, F): the weight this readout applies to every feature it could read, |W| on
        ``units`` and 0 on the others (F = D*H)."""
        features = self.read_features
        weight = self.weight.new_zeros(self.weight.shape[0], features)
        return weight.index_copy(1, self.units, self.weight.abs())

    def members(self, read: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
        """As :meth:`StepReadout.members`, through the members' |W| on ``units``."""
        read = read.index_select(-1, self.units)
        return torch.matmul(read, weight.abs()[:, None].transpose(-1, -2)) + bias[:, None, None]


def _units_buffer(readout: nn.Module, units: torch.Tensor, features: int) -> None:
    readout.register_buffer("units", units.to(readout.weight.device), persistent=False)
    readout.read_features = features


class ExcitatoryStepReadout(ExcitatoryReadout, StepReadout):
    """:class:`StepReadout` under Dale's law (:class:`ExcitatoryReadout`): outputs
    (B, T, O) from the excitatory units' outputs at every step."""

    def __init__(self, units: torch.Tensor, features: int, out_features: int, device=None):
        StepReadout.__init__(self, len(units), out_features, device=device)
        _units_buffer(self, units, features)


class ExcitatoryFinalStateReadout(ExcitatoryReadout, FinalStateReadout):
    """:class:`FinalStateReadout` under Dale's law (:class:`ExcitatoryReadout`): outputs
    (B, O) from the excitatory units of the last layer's final output."""

    def __init__(
        self, units: torch.Tensor, features: int, out_features: int, num_directions: int,
        device=None, spec=None, options=None,
    ) -> None:  # fmt: skip
        FinalStateReadout.__init__(
            self, len(units), out_features, num_directions, device, spec, options
        )
        _units_buffer(self, units, features)


def _device_of(layer: RecurrentLayer) -> torch.device:
    """Where ``layer``'s parameters are: a network's other parameters go there too."""
    return layer.weight_ih_l0.device


class RecurrentNetwork(nn.Module):
    """What :class:`Network` and :class:`SequenceNetwork` share: the encoding of the inputs,
    the layer, dropout on what the readout reads, and the call.

    ``network(x, state, lengths)`` returns the readout's raw outputs and the layer's final
    state. Options:

    - ``vocab_size``: x is (B, T) integer token ids, fed to the layer as one-hot vectors, or
      through a learned embedding of ``embedding_dim`` dimensions when that is given;
      without it, x is (B, T, I) vectors, fed as they are.
    - ``output_dropout``: dropout on what the readout reads.

    A subclass sets ``self.readout``, a module with a ``read(outputs, state)`` method (what
    of the layer it reads) that maps what it read to the outputs.
    """

    needs_targets = False  # an encoder-decoder reads the targets too (rnnlab.models.seq2seq)
    readout: StepReadout | FinalStateReadout  # or their Dale's-law kinds, ExcitatoryReadout

    def __init__(
        self,
        layer: RecurrentLayer,
        *,
        vocab_size: int | None = None,
        embedding_dim: int | None = None,
        output_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if embedding_dim is not None and vocab_size is None:
            raise ValueError("embedding_dim needs token inputs (a vocab_size)")
        self.vocab_size = vocab_size
        if embedding_dim is not None:
            self.embedding = nn.Embedding(vocab_size, embedding_dim, device=_device_of(layer))
        self.layer = layer
        self.dropout = nn.Dropout(output_dropout)

    @property
    def features(self) -> int:
        """D*H: the size of the layer's outputs at each step, both directions."""
        return self.layer.num_directions * self.layer.output_size_per_direction

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The layer's input: x itself, or token ids (B, T) embedded or one-hot."""
        if self.vocab_size is None:
            return x
        if x.is_floating_point() or x.dim() != 2:
            raise ValueError(
                f"this network reads token ids: an integer tensor (B, T); "
                f"got {x.dtype} of shape {tuple(x.shape)}"
            )
        if hasattr(self, "embedding"):
            return self.embedding(x)
        return nn.functional.one_hot(x, self.vocab_size).to(self.layer.weight_ih_l0.dtype)

    def forward(self, x: torch.Tensor, state=None, lengths=None):
        outputs, state = self.layer(self.encode(x), state, lengths)  # (B, T, D*H)
        read = self.readout.read(outputs, state)  # (B, T, D*H) or (B, D*H)
        return self.readout(self.dropout(read)), state


class Network(RecurrentNetwork):
    """A recurrent layer and a readout at every step (:class:`StepReadout`).

    ``network(x, state, lengths)`` maps x (B, T, I), or token ids (B, T) with ``vocab_size``,
    to raw outputs (B, T, O) and the layer's final state. Options as for
    :class:`RecurrentNetwork`, and:

    - ``highway``: add to every output a learned linear function of the last ``highway``
      inputs (zeros before the first), the autoregressive component of LSTNet (Lai et al.
      2018, "Modeling long- and short-term temporal patterns with deep neural networks"). The
      recurrent part then models what a linear autoregression misses; forecasters use it
      because a network's output is insensitive to the scale of its input.
    """

    def __init__(
        self,
        layer: RecurrentLayer,
        output_size: int,
        *,
        vocab_size: int | None = None,
        embedding_dim: int | None = None,
        output_dropout: float = 0.0,
        highway: int | None = None,
    ) -> None:
        super().__init__(
            layer, vocab_size=vocab_size, embedding_dim=embedding_dim,
            output_dropout=output_dropout,
        )  # fmt: skip
        device = _device_of(layer)
        units = layer.readout_units()
        if units is None:
            self.readout = StepReadout(self.features, output_size, device=device)
        else:
            self.readout = ExcitatoryStepReadout(units, self.features, output_size, device)
        self.highway = None
        if highway is not None:
            if vocab_size is not None:
                raise ValueError("highway adds a linear map of vector inputs to every output")
            self.highway = nn.Conv1d(layer.input_size, output_size, highway, device=device)

    def forward(self, x: torch.Tensor, state=None, lengths=None):
        outputs, state = super().forward(x, state, lengths)  # (B, T, O)
        if self.highway is not None:
            k = self.highway.kernel_size[0]
            past = nn.functional.pad(x.transpose(1, 2), (k - 1, 0))  # (B, I, k - 1 + T)
            outputs = outputs + self.highway(past).transpose(1, 2)  # (B, T, O)
        return outputs, state

    def unroll_members(self, tensors, x: torch.Tensor, state=None, lengths=None):
        """This network's architecture run for N members at once (an ensemble's), on the
        layer's member kernel (:meth:`rnnlab.layers.RecurrentLayer.unroll_members`) and one
        batched readout: ``tensors`` are the members' parameters under this network's names,
        stacked (N, ...). Returns ``(outputs (N, B, T, O), state with N first)``, or None
        where it cannot serve the call (token inputs, a highway, active output dropout, or a
        layer call its member kernel does not serve): then the members run one by one."""
        if self.vocab_size is not None or self.highway is not None:
            return None
        if self.dropout.p > 0 and self.training:
            return None
        layer = {k.removeprefix("layer."): v for k, v in tensors.items() if k[:6] == "layer."}
        self.layer.train(self.training)
        served = self.layer.unroll_members(layer, x, state, lengths)
        if served is None:
            return None
        hidden, state = served  # (N, B, T, D*H)
        weight, bias = tensors["readout.weight"], tensors["readout.bias"]  # (N, O, F), (N, O)
        return self.readout.members(hidden, weight, bias), state

    def forward_scheduled(
        self, x: torch.Tensor, state, teacher_forcing: float, loss: Loss
    ) -> tuple[torch.Tensor, object]:
        """Scheduled sampling (Bengio et al. 2015) for next-step prediction.

        At each step after the first, the input is the true ``x_t`` with probability
        ``teacher_forcing`` and otherwise the network's own prediction of it from the step
        before (probabilities, or a one-hot of the most likely class). Uses the global torch
        random generator, so a seeded run repeats exactly.
        """
        outputs = []
        x_t = x[:, :1]  # (B, 1, I), or (B, 1) token ids
        for t in range(x.shape[1]):
            output_t, state = self(x_t, state)  # (B, 1, O)
            outputs.append(output_t)
            if t + 1 == x.shape[1]:
                break
            prediction = predictions_from_outputs(output_t, loss).detach()
            if self.vocab_size is not None:
                prediction = prediction.argmax(-1)  # (B, 1) token ids
            elif loss == "cross_entropy":
                prediction = nn.functional.one_hot(prediction.argmax(-1), x.shape[-1]).to(x.dtype)
            use_truth = torch.rand(x.shape[0], 1, 1) < teacher_forcing  # (B, 1, 1)
            if x.dim() == 2:
                use_truth = use_truth[..., 0]  # (B, 1), as token ids
            x_t = torch.where(use_truth.to(x.device), x[:, t + 1 : t + 2], prediction)
        return torch.cat(outputs, dim=1), state


class SequenceNetwork(RecurrentNetwork):
    """A recurrent layer and one readout per sequence (:class:`FinalStateReadout`).

    ``network(x, state, lengths)`` maps x (B, T, I), or token ids (B, T) with ``vocab_size``,
    to raw outputs (B, O), read from the last layer's final state (both directions: the
    forward one after each sequence's last valid step, the reverse one after its first), and
    that final state. Options as for :class:`RecurrentNetwork`.
    """

    def __init__(
        self,
        layer: RecurrentLayer,
        output_size: int,
        *,
        vocab_size: int | None = None,
        embedding_dim: int | None = None,
        output_dropout: float = 0.0,
    ) -> None:
        super().__init__(
            layer, vocab_size=vocab_size, embedding_dim=embedding_dim,
            output_dropout=output_dropout,
        )  # fmt: skip
        device, spec, options = _device_of(layer), layer.spec, layer.options
        D, units = layer.num_directions, layer.readout_units()
        if units is None:
            self.readout = FinalStateReadout(self.features, output_size, D, device, spec, options)
        else:
            self.readout = ExcitatoryFinalStateReadout(
                units, self.features, output_size, D, device, spec, options
            )


def least_squares_highway(network: Network, split, steps: int, gaussian: bool) -> None:
    """Start a forecaster with ``highway`` from the best linear forecaster of the training
    windows ``split`` (targets of ``steps`` values, then their log-variances if ``gaussian``),
    so that the network begins as a direct autoregression and its recurrent part learns what
    the linear part misses (the hybrid of Zhang 2003, "Time series forecasting using a hybrid
    ARIMA and neural network model", learnt jointly). The highway's mean outputs get the
    least-squares fit of the targets on the last k inputs, its log-variance outputs the log of
    the fit's residual variance per horizon step, and the recurrent readout starts at zero."""
    highway = network.highway
    k = highway.kernel_size[0]
    x = torch.nn.functional.pad(split.x.double().transpose(1, 2), (k - 1, 0))  # (N, F, k-1+W)
    lags = x.unfold(2, k, 1)  # (N, F, W, k): the k inputs up to each step
    rows = lags.permute(0, 2, 1, 3).reshape(*split.mask.shape, -1)[split.mask]  # (R, F k)
    design = torch.cat([rows, torch.ones(len(rows), 1, dtype=rows.dtype)], 1)
    targets = split.y.double()[split.mask]  # (R, steps)
    solution = torch.linalg.lstsq(design, targets).solution  # (F k + 1, steps)
    residual = targets - design @ solution
    with torch.no_grad():
        weight = solution[:-1].T.reshape(steps, -1, k)  # (steps, F, k)
        highway.weight.zero_()
        highway.bias.zero_()
        highway.weight[:steps] = weight.to(highway.weight.dtype)
        highway.bias[:steps] = solution[-1].to(highway.bias.dtype)
        if gaussian:
            highway.bias[steps:] = residual.var(0).log().to(highway.bias.dtype)
        network.readout.weight.zero_()
        network.readout.bias.zero_()
