"""Building networks from configs: the parameter count known before allocating, and a model too
large for the machine refused."""

import pytest
import torch
from pydantic import TypeAdapter

from rnnlab.errors import ConfigError
from rnnlab.models import config as network
from rnnlab.models.config import ModelConfig, build_model, parameter_count
from rnnlab.models.readout import Network, SequenceNetwork
from rnnlab.models.seq2seq import Seq2Seq

MODEL = TypeAdapter(ModelConfig)

CONFIGS = [
    {"kind": "elman", "hidden_size": 5},
    {"kind": "elman", "hidden_size": 5, "num_layers": 3, "bidirectional": True, "bias": False,
     "dropout": 0.1},
    {"kind": "jordan", "hidden_size": 5, "output_size": 3, "num_layers": 2,
     "bidirectional": True},
    {"kind": "gru", "hidden_size": 4, "num_layers": 2},
    {"kind": "lstm", "hidden_size": 4, "num_layers": 2, "peephole": True, "bidirectional": True},
    {"kind": "mingru", "hidden_size": 4, "num_layers": 2, "bidirectional": True},
    {"kind": "minlstm", "hidden_size": 4, "num_layers": 2, "coefficient_norm": False,
     "bias": False},
    {"kind": "lstm", "hidden_size": 4, "highway": 3},  # last: the tests of CONFIGS[:-1]
]  # fmt: skip
SEQ2SEQ_CONFIGS = [
    {"kind": "gru", "hidden_size": 4},
    {"kind": "lstm", "hidden_size": 4, "bidirectional": True, "attention": "additive",
     "num_layers": 2},
    {"kind": "jordan", "hidden_size": 5, "output_size": 3, "bidirectional": True,
     "attention": "dot", "embedding_dim": 7},
    {"kind": "elman", "hidden_size": 5, "attention": "dot"},
]  # fmt: skip


def numel(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("options", CONFIGS, ids=lambda c: c["kind"])
def test_parameter_count_is_the_count_of_the_network_built(options):
    config = MODEL.validate_python(options)
    assert parameter_count(config, 7, 3) == numel(build_model(config, 7, 3))


def test_parameter_count_of_token_inputs_counts_the_embedding():
    config = MODEL.validate_python({"kind": "gru", "hidden_size": 4, "embedding_dim": 6})
    built = build_model(config, 11, 3, inputs="tokens")
    assert parameter_count(config, 11, 3, inputs="tokens") == numel(built)
    assert numel(built.embedding) == 11 * 6


@pytest.mark.parametrize("options", CONFIGS[:-1], ids=lambda c: c["kind"])
def test_parameter_count_of_one_readout_per_sequence(options):
    config = MODEL.validate_python(options)
    built = build_model(config, 7, 3, inputs="tokens", targets="per_sequence")
    assert parameter_count(config, 7, 3, inputs="tokens", targets="per_sequence") == numel(built)
    assert numel(built) == parameter_count(config, 7, 3, inputs="tokens")  # the same parameters


@pytest.mark.parametrize("options", SEQ2SEQ_CONFIGS, ids=lambda c: c["kind"])
def test_parameter_count_of_an_encoder_decoder(options):
    config = MODEL.validate_python(options)
    built = build_model(config, 13, 17, inputs="tokens", targets="sequence")
    assert parameter_count(config, 13, 17, inputs="tokens", targets="sequence") == numel(built)


def test_a_network_larger_than_the_memory_available_is_refused_before_allocation(monkeypatch):
    config = MODEL.validate_python({"kind": "lstm", "hidden_size": 100})
    count = parameter_count(config, 7, 3)  # 4 * 100 * (7 + 100 + 2) + 3 * 101 = 43,903
    assert count == 43_903
    monkeypatch.setattr(network, "available_memory", lambda: 4 * count)  # float32: just fits
    assert numel(build_model(config, 7, 3)) == count
    monkeypatch.setattr(network, "available_memory", lambda: 4 * count - 1)
    allocated = []
    monkeypatch.setattr(network, "LSTM", lambda *args, **kwargs: allocated.append(args))
    with pytest.raises(ConfigError) as refused:
        build_model(config, 7, 3)
    assert str(refused.value) == (
        "[model] is too large for this machine: 43,903 parameters take 175,612 bytes (175.6 kB) "
        "as float32, but only 175.6 kB of memory is available; make model.hidden_size, "
        "model.num_layers or model.embedding_dim smaller"
    )
    assert allocated == []  # refused before the layer was built
    with pytest.raises(ConfigError, match="too large"):
        build_model(config, 1000, 1000, inputs="tokens", targets="sequence")


def test_where_the_memory_available_is_unknown_nothing_is_refused(monkeypatch):
    monkeypatch.setattr(network, "available_memory", lambda: None)
    config = MODEL.validate_python({"kind": "elman", "hidden_size": 3})
    assert numel(build_model(config, 2, 2)) == parameter_count(config, 2, 2)


def test_a_sane_model_fits_this_machine():
    config = MODEL.validate_python({"kind": "lstm", "hidden_size": 512, "num_layers": 2})
    assert numel(build_model(config, 64, 64)) == parameter_count(config, 64, 64)


@pytest.mark.parametrize(
    ("targets", "kind", "shape"),
    [("per_step", Network, (2, 5, 3)), ("per_sequence", SequenceNetwork, (2, 3)),
     ("sequence", Seq2Seq, (2, 5, 3))],
)  # fmt: skip
def test_the_kind_of_targets_picks_the_class_and_its_one_output_shape(targets, kind, shape):
    config = MODEL.validate_python({"kind": "gru", "hidden_size": 4})
    network = build_model(config, 6, 3, inputs="tokens", targets=targets)
    assert type(network) is kind
    x = torch.randint(3, 6, (2, 5))  # (B, T) token ids, none of them special
    read = {"targets": x % 3} if targets == "sequence" else {}  # the decoder reads the targets
    outputs, _ = network(x, lengths=torch.tensor([5, 2]), **read)
    assert tuple(outputs.shape) == shape


@pytest.mark.parametrize(
    ("options", "inputs", "targets", "message"),
    [({"attention": "dot"}, "tokens", "per_step", r"model\.attention = 'dot' is for encoder"),
     ({"embedding_dim": 3}, "vectors", "per_step", r"model\.embedding_dim embeds token inputs"),
     ({"highway": 2}, "tokens", "per_step", r"model\.highway .* needs vector inputs"),
     ({"highway": 2}, "vectors", "per_sequence", r"model\.highway .* an output at every step"),
     ({"highway": 2}, "tokens", "sequence", r"model\.highway is for forecasting")],
)  # fmt: skip
def test_options_the_kinds_do_not_take_are_refused(options, inputs, targets, message):
    config = MODEL.validate_python({"kind": "gru", "hidden_size": 4, **options})
    with pytest.raises(ConfigError, match=message):
        build_model(config, 6, 3, inputs=inputs, targets=targets)


def test_an_encoder_decoder_of_vectors_is_refused():
    config = MODEL.validate_python({"kind": "gru", "hidden_size": 4})
    with pytest.raises(ValueError, match="an encoder-decoder reads token ids; got inputs = 'v"):
        build_model(config, 6, 3, targets="sequence")
