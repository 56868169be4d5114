"""Building networks from configs: the parameter count known before allocating, and a model too
large for the machine refused."""

import pytest
import torch
from pydantic import TypeAdapter

from rnnlab.errors import ConfigError
from rnnlab.models import config as network
from rnnlab.models.config import ModelConfig, build_model, build_seq2seq, parameter_count

MODEL = TypeAdapter(ModelConfig)

CONFIGS = [
    {"kind": "elman", "hidden_size": 5},
    {"kind": "elman", "hidden_size": 5, "num_layers": 3, "bidirectional": True, "bias": False,
     "dropout": 0.1},
    {"kind": "jordan", "hidden_size": 5, "output_size": 3, "num_layers": 2,
     "bidirectional": True},
    {"kind": "gru", "hidden_size": 4, "num_layers": 2},
    {"kind": "lstm", "hidden_size": 4, "num_layers": 2, "peephole": True, "bidirectional": True},
    {"kind": "lstm", "hidden_size": 4, "highway": 3},
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
    built = build_model(config, 11, 3, tokens=True)
    assert parameter_count(config, 11, 3, tokens=True) == numel(built)
    assert numel(built.embedding) == 11 * 6


@pytest.mark.parametrize("options", SEQ2SEQ_CONFIGS, ids=lambda c: c["kind"])
def test_parameter_count_of_an_encoder_decoder(options):
    config = MODEL.validate_python(options)
    assert parameter_count(config, 13, 17, seq2seq=True) == numel(build_seq2seq(config, 13, 17))


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
        build_seq2seq(config, 1000, 1000)


def test_where_the_memory_available_is_unknown_nothing_is_refused(monkeypatch):
    monkeypatch.setattr(network, "available_memory", lambda: None)
    config = MODEL.validate_python({"kind": "elman", "hidden_size": 3})
    assert numel(build_model(config, 2, 2)) == parameter_count(config, 2, 2)


def test_a_sane_model_fits_this_machine():
    config = MODEL.validate_python({"kind": "lstm", "hidden_size": 512, "num_layers": 2})
    assert numel(build_model(config, 64, 64)) == parameter_count(config, 64, 64)
