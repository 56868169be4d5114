"""The ``[model]`` configs and the one factory that turns them into networks.

The ``[model]`` section of a run's config is one of the model configs here, chosen by its
``kind``; :func:`build_model` turns it into a :class:`~rnnlab.models.readout.Network` (or,
for a translation task, a :class:`~rnnlab.models.seq2seq.Seq2Seq`) for a task's sizes, after
:func:`parameter_count` has checked, without allocating, that its parameters fit in the memory
available.
"""

from typing import Annotated, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.errors import ConfigError
from rnnlab.layers import GRU, LSTM, Elman, Jordan, RecurrentLayer
from rnnlab.memory import available_memory, format_bytes
from rnnlab.models.readout import Network
from rnnlab.models.seq2seq import Seq2Seq


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


ModelConfig = Annotated[
    ElmanConfig | JordanConfig | GRUConfig | LSTMConfig, Field(discriminator="kind")
]

MODELS: dict[str, tuple[type[_LayerConfig], str]] = {
    "elman": (ElmanConfig, "Elman (1990) simple recurrent network: tanh, relu or sigmoid units"),
    "jordan": (JordanConfig, "Jordan (1986) network: the context is the previous output"),
    "gru": (GRUConfig, "gated recurrent unit (Cho et al. 2014), as torch.nn.GRU"),
    "lstm": (LSTMConfig, "long short-term memory (Hochreiter & Schmidhuber 1997), as torch.nn"),
}


def build_model(
    config: ModelConfig,
    input_size: int,
    output_size: int,
    *,
    tokens: bool = False,
    per_sequence: bool = False,
    seq2seq: bool = False,
):
    """The network a ``[model]`` config describes, for a task's input and output sizes.

    With ``tokens`` the input is token ids and ``input_size`` the vocabulary size; with
    ``per_sequence`` the readout reads the final state (see :class:`Network`); with
    ``seq2seq`` it is an encoder-decoder (:class:`rnnlab.models.seq2seq.Seq2Seq`) between
    vocabularies of ``input_size`` and ``output_size`` words.
    """
    if seq2seq:
        if config.highway is not None:
            raise ConfigError("model.highway is for forecasting, not translation")
        return build_seq2seq(config, input_size, output_size)
    if config.attention != "none":
        raise ConfigError(
            f"model.attention = {config.attention!r} is for encoder-decoder (translation) "
            f"tasks; this task reads one sequence (remove attention)"
        )
    if config.embedding_dim is not None and not tokens:
        raise ConfigError(
            "model.embedding_dim embeds token inputs, but this task's inputs are vectors; "
            "remove embedding_dim"
        )
    if config.highway is not None and (tokens or per_sequence):
        raise ConfigError(
            "model.highway adds a linear map of the last inputs to every output; it needs "
            "vector inputs and an output at every step (a forecasting task)"
        )
    _refuse_if_too_large(parameter_count(config, input_size, output_size, tokens=tokens))
    return _network(config, input_size, output_size, tokens, per_sequence)


def _network(config, input_size: int, output_size: int, tokens: bool, per_sequence: bool):
    vocab_size = input_size if tokens else None
    if config.embedding_dim is not None:
        input_size = config.embedding_dim
    layer = _build_layer(config, input_size, config.bidirectional, config.dropout)
    return Network(
        layer, output_size, vocab_size=vocab_size, embedding_dim=config.embedding_dim,
        per_sequence=per_sequence, output_dropout=config.output_dropout,
        highway=config.highway,
    )  # fmt: skip


def build_seq2seq(config: ModelConfig, source_vocab_size: int, target_vocab_size: int):
    """An encoder-decoder of the ``[model]`` layer: the encoder as configured (bidirectional
    if asked), the decoder the same kind and size in one direction; embeddings of
    ``embedding_dim`` (default: hidden_size) dimensions. ``dropout`` applies to the
    embeddings, and between stacked layers when there are several."""
    _refuse_if_too_large(
        parameter_count(config, source_vocab_size, target_vocab_size, seq2seq=True)
    )
    return _seq2seq(config, source_vocab_size, target_vocab_size)


def _seq2seq(config: ModelConfig, source_vocab_size: int, target_vocab_size: int):
    embedding_dim = config.embedding_dim or config.hidden_size
    between = config.dropout if config.num_layers > 1 else 0.0
    encoder = _build_layer(config, embedding_dim, config.bidirectional, between)
    context_size = encoder.num_directions * encoder.output_size_per_direction
    decoder = _build_layer(config, embedding_dim + context_size, False, between)
    return Seq2Seq(
        encoder, decoder, source_vocab_size, target_vocab_size, embedding_dim,
        attention=config.attention, dropout=config.dropout, output_dropout=config.output_dropout,
    )  # fmt: skip


def parameter_count(
    config: ModelConfig,
    input_size: int,
    output_size: int,
    *,
    tokens: bool = False,
    seq2seq: bool = False,
) -> int:
    """The number of parameters :func:`build_model` makes for these sizes, without allocating
    them: the same network is built on torch's ``meta`` device, which holds shapes and no data
    (and draws nothing from the random generator).

    ``input_size`` and ``output_size`` are as for :func:`build_model` (vocabulary sizes for
    ``seq2seq``); ``per_sequence`` changes no parameter, so it is not asked for.
    """
    with torch.device("meta"):
        if seq2seq:
            network = _seq2seq(config, input_size, output_size)
        else:
            network = _network(config, input_size, output_size, tokens, per_sequence=False)
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
