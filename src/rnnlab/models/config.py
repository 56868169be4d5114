"""The ``[model]`` configs and the one factory that turns them into networks.

The ``[model]`` section of a run's config is one of the model configs here, chosen by its
``kind``; :func:`build_model` turns it into the network of a task's sizes and kinds of inputs
and targets, the class :data:`NETWORKS` gives for the kind of targets, after
:func:`parameter_count` has checked, without allocating, that its parameters fit in the memory
available.
"""

from collections.abc import Callable
from typing import Annotated, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from rnnlab.errors import ConfigError
from rnnlab.layers import CTRNN, GRU, LSTM, Elman, Jordan, MinGRU, MinLSTM, RecurrentLayer
from rnnlab.losses import Targets
from rnnlab.memory import available_memory, format_bytes
from rnnlab.models.readout import Network, SequenceNetwork
from rnnlab.models.seq2seq import Seq2Seq
from rnnlab.tasks.base import Inputs


class _LayerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    hidden_size: int = Field(ge=1, description="H, hidden units per layer and direction")
    num_layers: int = Field(1, ge=1, description="L, stacked layers")
    bidirectional: bool = Field(False, description="add a reverse-time direction")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout between stacked layers")
    bias: bool = Field(True, description="learn the recurrent layers' biases")
    embedding_dim: int | None = Field(
        None, ge=1, description="embed token inputs in this many dimensions (default: one-hot)"
    )
    output_dropout: float = Field(0.0, ge=0, lt=1, description="dropout before the readout")
    attention: Literal["none", "additive", "dot"] = Field(
        "none", description="translation: the decoder's attention over the encoder's outputs"
    )
    highway: int | None = Field(
        None, ge=1, description="add a linear map of the last k inputs to the output (LSTNet)"
    )


class ElmanConfig(_LayerConfig):
    """``[model] kind = "elman"``: Elman's simple recurrent network."""

    kind: Literal["elman"]
    nonlinearity: Literal["tanh", "relu", "sigmoid"] = "tanh"


class JordanConfig(_LayerConfig):
    """``[model] kind = "jordan"``: the context is the previous output of each layer."""

    kind: Literal["jordan"]
    output_size: int = Field(ge=1, description="O, output (context) units of each layer")
    nonlinearity: Literal["tanh", "relu", "sigmoid"] = "tanh"
    output_nonlinearity: Literal["sigmoid", "tanh", "relu", "identity"] = "sigmoid"


class GRUConfig(_LayerConfig):
    """``[model] kind = "gru"``: gated recurrent units (torch.nn's variant)."""

    kind: Literal["gru"]


class LSTMConfig(_LayerConfig):
    """``[model] kind = "lstm"``: long short-term memory."""

    kind: Literal["lstm"]
    peephole: bool = False
    forget_bias: float | None = None


class CTRNNConfig(_LayerConfig):
    """``[model] kind = "ctrnn"``: continuous-time rate units, optionally with Dale's law
    (:class:`rnnlab.CTRNN`). A connectivity mask is a tensor: the Python API sets it, a config
    cannot. Under Dale's law the readout reads the excitatory units only, through non-negative
    weights (:class:`rnnlab.models.readout.ExcitatoryReadout`)."""

    kind: Literal["ctrnn"]
    nonlinearity: Literal["relu", "softplus", "tanh", "retanh", "sigmoid"] = "relu"
    tau: float = Field(100.0, gt=0, description="the time constant, in the units of dt")
    dt: float | None = Field(None, gt=0, description="the Euler step (default: tau / 5)")
    learn_tau: bool = Field(False, description="learn one time constant per unit")
    sigma_rec: float = Field(0.0, ge=0, description="recurrent noise, s.d. sqrt(2 dt/tau) x it")
    sigma_in: float = Field(0.0, ge=0, description="input noise, s.d. sqrt(2 tau/dt) x it")
    noise_in_eval: bool = Field(False, description="draw the noise in evaluation too")
    seed: int | None = Field(None, ge=0, description="the noise's own seed (default: torch's)")
    dale: bool = Field(False, description="Dale's law: excitatory and inhibitory units")
    excitatory_fraction: float | None = Field(
        None, gt=0, lt=1, description="the share of excitatory units under Dale (default 0.8)"
    )
    v0: float = Field(0.0, description="the currents' initial value")
    learn_v0: bool = Field(False, description="learn the initial currents")


class MinGRUConfig(_LayerConfig):
    """``[model] kind = "mingru"``: minimal GRUs (Feng et al. 2024), gates that read only the
    input, computed as a parallel scan (:class:`rnnlab.MinGRU`)."""

    kind: Literal["mingru"]


class MinLSTMConfig(_LayerConfig):
    """``[model] kind = "minlstm"``: minimal LSTMs (Feng et al. 2024), computed as a parallel
    scan (:class:`rnnlab.MinLSTM`)."""

    kind: Literal["minlstm"]
    coefficient_norm: bool = Field(True, description="normalise f and i to sum to one")
    forget_bias: float | None = None


ModelConfig = Annotated[
    ElmanConfig
    | JordanConfig
    | GRUConfig
    | LSTMConfig
    | CTRNNConfig
    | MinGRUConfig
    | MinLSTMConfig,
    Field(discriminator="kind"),
]

MODELS: dict[str, tuple[type[_LayerConfig], str]] = {
    "elman": (ElmanConfig, "Elman (1990) simple recurrent network: tanh, relu or sigmoid units"),
    "jordan": (JordanConfig, "Jordan (1986) network: the context is the previous output"),
    "gru": (GRUConfig, "gated recurrent unit (Cho et al. 2014), as torch.nn.GRU"),
    "lstm": (LSTMConfig, "long short-term memory (Hochreiter & Schmidhuber 1997), as torch.nn"),
    "ctrnn": (CTRNNConfig, "continuous-time rate network (Song et al. 2016), with Dale's law"),
    "mingru": (MinGRUConfig, "minimal GRU (Feng et al. 2024): gates of the input, parallel scan"),
    "minlstm": (
        MinLSTMConfig,
        "minimal LSTM (Feng et al. 2024): gates of the input, parallel scan",
    ),
}


def build_model(
    config: ModelConfig,
    input_size: int,
    output_size: int,
    *,
    inputs: Inputs = "vectors",
    targets: Targets = "per_step",
) -> nn.Module:
    """The network a ``[model]`` config describes, for a task's input and output sizes and
    kinds of inputs and targets (:attr:`rnnlab.tasks.base.Task.inputs` and ``targets``).

    With ``inputs = "tokens"`` the input is token ids and ``input_size`` the vocabulary size.
    The class is the one :data:`NETWORKS` gives for ``targets``: a
    :class:`~rnnlab.models.readout.Network` (a readout at every step), a
    :class:`~rnnlab.models.readout.SequenceNetwork` (one readout per sequence, of the final
    state), or for ``"sequence"`` an encoder-decoder
    (:class:`~rnnlab.models.seq2seq.Seq2Seq`) between vocabularies of ``input_size`` and
    ``output_size`` words: the encoder is the ``[model]`` layer as configured (bidirectional
    if asked), the decoder the same kind and size in one direction, with embeddings of
    ``embedding_dim`` (default: hidden_size) dimensions; ``dropout`` applies to the
    embeddings, and between stacked layers when there are several.
    """
    _refuse_what_does_not_fit(config, inputs, targets)
    count = parameter_count(config, input_size, output_size, inputs=inputs, targets=targets)
    _refuse_if_too_large(count)
    return NETWORKS[targets](config, input_size, output_size, inputs)


def _refuse_what_does_not_fit(config: ModelConfig, inputs: Inputs, targets: Targets) -> None:
    """A ConfigError for options of ``config`` that these kinds of inputs and targets do not
    take."""
    if targets == "sequence":
        if config.highway is not None:
            raise ConfigError("model.highway is for forecasting, not translation")
        return
    if config.attention != "none":
        raise ConfigError(
            f"model.attention = {config.attention!r} is for encoder-decoder (translation) "
            f"tasks; this task reads one sequence (remove attention)"
        )
    if config.embedding_dim is not None and inputs != "tokens":
        raise ConfigError(
            "model.embedding_dim embeds token inputs, but this task's inputs are vectors; "
            "remove embedding_dim"
        )
    if config.highway is not None and (inputs, targets) != ("vectors", "per_step"):
        raise ConfigError(
            "model.highway adds a linear map of the last inputs to every output; it needs "
            "vector inputs and an output at every step (a forecasting task)"
        )


def _step_network(config: ModelConfig, input_size: int, output_size: int, inputs: Inputs):
    layer, options = _readout_layer(config, input_size, inputs)
    return Network(layer, output_size, highway=config.highway, **options)


def _sequence_network(config: ModelConfig, input_size: int, output_size: int, inputs: Inputs):
    layer, options = _readout_layer(config, input_size, inputs)
    return SequenceNetwork(layer, output_size, **options)


def _readout_layer(config: ModelConfig, input_size: int, inputs: Inputs):
    """The layer of a network with a readout, and the options its encoding and readout take
    from ``config``."""
    vocab_size = input_size if inputs == "tokens" else None
    if config.embedding_dim is not None:
        input_size = config.embedding_dim
    layer = _build_layer(config, input_size, config.bidirectional, config.dropout)
    options = {
        "vocab_size": vocab_size,
        "embedding_dim": config.embedding_dim,
        "output_dropout": config.output_dropout,
    }
    return layer, options


def _seq2seq(config: ModelConfig, source_vocab_size: int, target_vocab_size: int, inputs: Inputs):
    if inputs != "tokens":  # no task declares it: a ValueError, not a ConfigError
        raise ValueError(f"an encoder-decoder reads token ids; got inputs = {inputs!r}")
    embedding_dim = config.embedding_dim or config.hidden_size
    between = config.dropout if config.num_layers > 1 else 0.0
    encoder = _build_layer(config, embedding_dim, config.bidirectional, between)
    context_size = encoder.num_directions * encoder.output_size_per_direction
    decoder = _build_layer(config, embedding_dim + context_size, False, between)
    return Seq2Seq(
        encoder, decoder, source_vocab_size, target_vocab_size, embedding_dim,
        attention=config.attention, dropout=config.dropout, output_dropout=config.output_dropout,
    )  # fmt: skip


NETWORKS: dict[Targets, Callable[[ModelConfig, int, int, Inputs], nn.Module]] = {
    "per_step": _step_network,  # Network: a readout at every step, (B, T, O)
    "per_sequence": _sequence_network,  # SequenceNetwork: one per sequence, (B, O)
    "sequence": _seq2seq,  # Seq2Seq: the logits of every target token, (B, T, V)
    "transcript": _step_network,  # Network: frame-wise logits (B, T, C) of CTC labels
}
"""The network of each kind of targets: the function that builds it from a ``[model]``
config, the input and output sizes and the kind of inputs."""


def parameter_count(
    config: ModelConfig,
    input_size: int,
    output_size: int,
    *,
    inputs: Inputs = "vectors",
    targets: Targets = "per_step",
) -> int:
    """The number of parameters :func:`build_model` makes for these sizes and kinds, without
    allocating them: the same network is built on torch's ``meta`` device, which holds shapes
    and no data (and draws nothing from the random generator)."""
    with torch.device("meta"):
        network = NETWORKS[targets](config, input_size, output_size, inputs)
    return sum(parameter.numel() for parameter in network.parameters())


def _refuse_if_too_large(count: int) -> None:
    """A ConfigError, before anything is allocated, if ``count`` parameters of the default
    dtype do not fit in the memory available (nothing is refused where that is unknown).

    Only the parameters are counted: training needs about as much again for the gradients, and
    twice that for Adam's moments, which this does not promise."""
    dtype = torch.get_default_dtype()
    size = count * dtype.itemsize
    available = available_memory()
    if available is not None and size > available:
        raise ConfigError(
            f"[model] is too large for this machine: {count:,} parameters take {size:,} bytes "
            f"({format_bytes(size)}) as {str(dtype).removeprefix('torch.')}, but only "
            f"{format_bytes(available)} of memory is available; make model.hidden_size, "
            f"model.num_layers or model.embedding_dim smaller"
        )


# Each kind's layer and the options of its config that the layer takes (by the same names).
LAYERS: dict[str, tuple[type[RecurrentLayer], tuple[str, ...]]] = {
    "elman": (Elman, ("nonlinearity",)),
    "jordan": (Jordan, ("output_size", "nonlinearity", "output_nonlinearity")),
    "gru": (GRU, ()),
    "lstm": (LSTM, ("peephole", "forget_bias")),
    "mingru": (MinGRU, ()),
    "minlstm": (MinLSTM, ("coefficient_norm", "forget_bias")),
    "ctrnn": (
        CTRNN,
        (
            "nonlinearity",
            "tau",
            "dt",
            "learn_tau",
            "sigma_rec",
            "sigma_in",
            "noise_in_eval",
            "seed",
            "dale",
            "excitatory_fraction",
            "v0",
            "learn_v0",
        ),
    ),
}


def _build_layer(
    config: ModelConfig, input_size: int, bidirectional: bool, dropout: float
) -> RecurrentLayer:
    """The recurrent layer of a ``[model]`` config for ``input_size`` inputs."""
    layer_type, names = LAYERS[config.kind]
    options = {name: getattr(config, name) for name in names}
    try:
        return layer_type(
            input_size, config.hidden_size, num_layers=config.num_layers, bias=config.bias,
            bidirectional=bidirectional, dropout=dropout, **options,
        )  # fmt: skip
    except (TypeError, ValueError) as error:
        raise ConfigError(f"[model]: {error}") from None
