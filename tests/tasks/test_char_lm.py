"""The character language model task and text generation."""

import math
from pathlib import Path

import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.models.config import LSTMConfig, build_model
from rnnlab.models.sampling import generate
from rnnlab.tasks.base import masked_loss
from rnnlab.tasks.char_lm import CharLM, CharLMConfig, load_text

SHAKESPEARE = Path(__file__).resolve().parents[3] / "shared/data/text/tinyshakespeare.txt"


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "slice.txt"
    path.write_text(SHAKESPEARE.read_text(encoding="utf-8")[:20_000], encoding="utf-8")
    return path


def test_the_text_is_split_in_order_with_the_tail_held_out(corpus):
    text = corpus.read_text(encoding="utf-8")
    task = CharLM(CharLMConfig(path=str(corpus), val_fraction=0.1))
    assert task.texts["train"] + task.texts["val"] == text
    assert len(task.texts["val"]) == 2000
    assert task.texts["test"] is task.texts["val"]  # no test fraction: test on validation
    split = task.splits()["val"]
    assert split.x.shape == (1, 1999) and split.x.dtype == torch.long
    assert task.vocabulary.decode(split.x[0]) == task.texts["val"][:-1]
    assert torch.equal(split.y[0, :-1], split.x[0, 1:])  # the target is the next character
    with_test = CharLM(CharLMConfig(path=str(corpus), val_fraction=0.1, test_fraction=0.1))
    assert with_test.texts["train"] + with_test.texts["val"] + with_test.texts["test"] == text
    assert len(with_test.texts["test"]) == 2000


def test_metrics_are_the_cross_entropy_in_nats_bits_and_perplexity(corpus):
    task = CharLM(CharLMConfig(path=str(corpus)))
    split = task.splits()["val"]
    logits = torch.randn(1, split.x.shape[1], task.output_size, dtype=torch.float64)
    metrics = task.metrics(torch.softmax(logits, -1), split)
    loss = float(masked_loss(logits, split.y, None, "cross_entropy"))
    assert metrics["loss_nats"] == pytest.approx(loss, rel=1e-9)
    assert metrics["bpc"] == pytest.approx(loss / math.log(2), rel=1e-9)
    assert metrics["perplexity"] == pytest.approx(math.exp(loss), rel=1e-9)


def test_baseline_is_the_kneser_ney_order_best_on_validation(corpus):
    task = CharLM(CharLMConfig(path=str(corpus)))
    found = task.baselines("val")["kneser_ney"]
    assert 1 <= found["order"] <= 7
    assert found["bpc"] == pytest.approx(found["loss_nats"] / math.log(2))
    assert found["loss_nats"] < math.log(task.output_size - 1)  # better than uniform


@pytest.mark.parametrize("name", ["missing.txt", "binary.txt"])
def test_unreadable_files_are_clear_errors(tmp_path, name):
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(RnnlabError, match=r"does not exist|not UTF-8"):
        load_text(tmp_path / name)


def test_too_short_text_is_a_clear_error(tmp_path):
    (tmp_path / "tiny.txt").write_text("abc")
    with pytest.raises(RnnlabError, match="too short"):
        CharLM(CharLMConfig(path=str(tmp_path / "tiny.txt")))


@pytest.fixture
def model(corpus):
    task = CharLM(CharLMConfig(path=str(corpus)))
    torch.manual_seed(0)
    config = LSTMConfig(kind="lstm", hidden_size=16, embedding_dim=8)
    return build_model(config, task.input_size, task.output_size, tokens=True), task.vocabulary


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
