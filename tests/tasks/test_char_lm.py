"""The character language model task and text generation."""

import math

import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.losses import masked_loss
from rnnlab.tasks.char_lm import CharLM, CharLMConfig, load_text


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


@pytest.mark.parametrize("name", ["missing.txt", "binary.txt"])
def test_unreadable_files_are_clear_errors(tmp_path, name):
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(RnnlabError, match=r"does not exist|not UTF-8"):
        load_text(tmp_path / name)


def test_too_short_text_is_a_clear_error(tmp_path):
    (tmp_path / "tiny.txt").write_text("abc")
    with pytest.raises(RnnlabError, match="too short"):
        CharLM(CharLMConfig(path=str(tmp_path / "tiny.txt")))
