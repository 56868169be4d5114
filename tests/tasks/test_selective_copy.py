"""The selective-copy generator (the official code's coding) and its metrics."""

import pytest
import torch

from rnnlab.tasks.base import checked_splits
from rnnlab.tasks.selective_copy import (
    EMPTY,
    PRED,
    SelectiveCopy,
    SelectiveCopyConfig,
    selective_copy_sequences,
)


def test_sequences_hold_the_tokens_in_order_among_blanks_then_the_queries():
    split = selective_copy_sequences(50, 20, 5, torch.Generator().manual_seed(0))
    symbols = split.x.argmax(dim=-1)  # one-hot back to tokens
    assert split.x.shape == (50, 25, 16) and split.y.shape == (50, 25)
    for row, target, mask in zip(symbols, split.y, split.mask):
        data = row[:20][row[:20] != EMPTY]
        assert len(data) == 5 and ((data >= 1) & (data <= 14)).all()
        assert (row[20:] == PRED).all()
        assert torch.equal(target[20:], data)  # the data tokens in order, at the queries
        assert mask.tolist() == [False] * 20 + [True] * 5
    # Positions are random: not always the same steps.
    assert len({tuple((r[:20] != EMPTY).nonzero().flatten().tolist()) for r in symbols}) > 40


def test_splits_are_seeded_and_checked():
    config = SelectiveCopyConfig(seq_len=12, num_tokens=3, num_train=8, num_val=4, num_test=4)
    first, again = SelectiveCopy(config).splits(), SelectiveCopy(config).splits()
    assert torch.equal(first["train"].x, again["train"].x)
    assert not torch.equal(first["train"].x[:4], first["val"].x)
    checked_splits(SelectiveCopy(config))
    with pytest.raises(ValueError, match="num_tokens must be <= seq_len"):
        SelectiveCopyConfig(seq_len=3, num_tokens=4)


def test_metrics_count_the_queries_only():
    split = selective_copy_sequences(10, 8, 4, torch.Generator().manual_seed(1))
    perfect = torch.nn.functional.one_hot(split.y, 16).float()
    task = SelectiveCopy(SelectiveCopyConfig(seq_len=8, num_tokens=4))
    assert task.metrics(perfect, split) == {"token_accuracy": 1.0, "sequence_accuracy": 1.0}
    wrong_first = perfect.clone()
    wrong_first[:, 8] = torch.nn.functional.one_hot(torch.tensor(EMPTY), 16).float()
    metrics = task.metrics(wrong_first, split)
    assert metrics["token_accuracy"] == 0.75 and metrics["sequence_accuracy"] == 0.0
    blanks_wrong = perfect.clone()
    blanks_wrong[:, :8] = 0  # what the network says at the blanks does not count
    assert task.metrics(blanks_wrong, split)["token_accuracy"] == 1.0
