"""Text generation from a character language model: seeded, greedy at top 1, clear errors."""

import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.models.config import LSTMConfig, build_model
from rnnlab.models.sampling import generate
from rnnlab.tasks.char_lm import CharLM, CharLMConfig


@pytest.fixture
def model(corpus):
    task = CharLM(CharLMConfig(path=str(corpus)))
    torch.manual_seed(0)
    config = LSTMConfig(kind="lstm", hidden_size=16, embedding_dim=8)
    return build_model(config, task.input_size, task.output_size, inputs="tokens"), task.vocabulary


def test_generation_is_seeded_and_as_long_as_asked(model):
    network, vocabulary = model
    first = generate(network, vocabulary, "ROMEO:", 50, temperature=0.8, seed=3)
    assert len(first) == 50 and set(first) <= set(vocabulary.symbols[2:])
    assert generate(network, vocabulary, "ROMEO:", 50, temperature=0.8, seed=3) == first
    assert generate(network, vocabulary, "ROMEO:", 50, temperature=0.8, seed=4) != first


def test_top_1_sampling_is_greedy_decoding(model):
    network, vocabulary = model
    sample = generate(network, vocabulary, "KING", 20, top_k=1, seed=0)
    text = "KING"
    for _ in range(20):  # the greedy continuation, recomputed over the whole text each step
        logits, _ = network(vocabulary.encode(text)[None])
        text += vocabulary.symbols[int(logits[0, -1, 2:].argmax()) + 2]
    assert sample == text[4:]


@pytest.mark.parametrize(
    ("prime", "options", "message"),
    [("", {}, "prime is empty"), ("ROMEO", {"temperature": 0.0}, "temperature"),
     ("\u4e2d\u6587", {}, "no character of the prime")],
)  # fmt: skip
def test_bad_generation_arguments_are_clear_errors(model, prime, options, message):
    network, vocabulary = model
    with pytest.raises(RnnlabError, match=message):
        generate(network, vocabulary, prime, 10, **options)
