"""Splits check what holds for every task; check_split checks a split against the kinds a task
declares, naming what was expected and what was got."""

import pytest
import torch

from rnnlab.tasks.base import Split, Task, check_split, checked_splits
from rnnlab.tasks.registry import TASKS

N, T = 4, 6
IDS = torch.zeros(N, T, dtype=torch.long)
VECTORS = torch.zeros(N, T, 3)


def test_a_split_checks_that_n_and_t_agree():
    Split(IDS, torch.zeros(N, dtype=torch.long), lengths=torch.ones(N, dtype=torch.long))
    Split(VECTORS, torch.zeros(N, T, 2), mask=torch.ones(N, T, dtype=torch.bool))
    with pytest.raises(
        ValueError, match=r"Split\.x must be \(N, T, I\) or \(N, T\); got shape \(4,\)"
    ):
        Split(torch.zeros(N), torch.zeros(N))
    with pytest.raises(ValueError, match=r"Split\.y must start with N = 4; got \(3, 6\)"):
        Split(IDS, torch.zeros(3, T))
    with pytest.raises(ValueError, match=r"Split\.mask must be \(N, T\) = \(4, 6\); got \(4, 5\)"):
        Split(IDS, torch.zeros(N), mask=torch.ones(N, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"Split\.lengths must be \(N,\) = \(4,\); got \(4, 1\)"):
        Split(IDS, torch.zeros(N), lengths=torch.ones(N, 1))


@pytest.mark.parametrize(
    ("x", "y", "inputs", "targets", "loss"),
    [(VECTORS, torch.zeros(N, T, 2), "vectors", "per_step", "mse"),
     (VECTORS, torch.zeros(N, T, 2), "vectors", "per_step", "gaussian_nll"),
     (VECTORS, torch.zeros(N, T, dtype=torch.long), "vectors", "per_step", "cross_entropy"),
     (IDS, torch.zeros(N, T, dtype=torch.long), "tokens", "per_step", "cross_entropy"),
     (IDS, torch.zeros(N, dtype=torch.long), "tokens", "per_sequence", "cross_entropy"),
     (VECTORS, torch.zeros(N, 2), "vectors", "per_sequence", "mse"),
     (IDS, torch.zeros(N, T, dtype=torch.long), "tokens", "sequence", "cross_entropy")],
)  # fmt: skip
def test_splits_of_the_declared_kinds_pass(x, y, inputs, targets, loss):
    check_split(Split(x, y), inputs, targets, loss)


@pytest.mark.parametrize(
    ("x", "y", "kinds", "message"),
    [(VECTORS, torch.zeros(N, T, dtype=torch.long), ("tokens", "per_step", "cross_entropy"),
      "train: inputs = 'tokens' need x (N, T) = (4, 6) integer token ids; got float32 of shape "
      "(4, 6, 3)"),
     (IDS, torch.zeros(N, T, dtype=torch.long), ("vectors", "per_step", "cross_entropy"),
      "train: inputs = 'vectors' need x (N, T, I) = (4, 6, I) float vectors; got int64 of shape "
      "(4, 6)"),
     (IDS.bool(), torch.zeros(N, T, dtype=torch.long), ("tokens", "per_step", "cross_entropy"),
      "train: inputs = 'tokens' need x (N, T) = (4, 6) integer token ids; got bool of shape "
      "(4, 6)"),
     (IDS, torch.zeros(N, T, dtype=torch.long), ("tokens", "per_sequence", "cross_entropy"),
      "train: targets = 'per_sequence' with loss 'cross_entropy' need y (N,) = (4,) integer "
      "class indices; got int64 of shape (4, 6)"),
     (IDS, torch.zeros(N, dtype=torch.long), ("tokens", "per_step", "cross_entropy"),
      "train: targets = 'per_step' with loss 'cross_entropy' need y (N, T) = (4, 6) integer "
      "class indices; got int64 of shape (4,)"),
     (VECTORS, torch.zeros(N, T, 2, dtype=torch.long), ("vectors", "per_step", "mse"),
      "train: targets = 'per_step' with loss 'mse' need y (N, T, O) = (4, 6, O) float values; "
      "got int64 of shape (4, 6, 2)"),
     (IDS, torch.zeros(N, T), ("tokens", "sequence", "cross_entropy"),
      "train: targets = 'sequence' with loss 'cross_entropy' need y (N, T) = (4, 6) integer "
      "token ids; got float32 of shape (4, 6)")],
)  # fmt: skip
def test_a_split_of_other_kinds_is_refused_with_what_was_expected_and_got(x, y, kinds, message):
    with pytest.raises(ValueError) as refused:
        check_split(Split(x, y), *kinds, name="train")
    assert str(refused.value) == message


class Wrong(Task):
    name, description, stream, loss = "wrong", "declares tokens, gives vectors", False, "mse"
    inputs = "tokens"

    def splits(self):
        return {"train": Split(VECTORS, torch.zeros(N, T, 1))}


def test_checked_splits_names_the_task_and_split():
    with pytest.raises(ValueError, match=r"^task 'wrong', split 'train': inputs = 'tokens' need"):
        checked_splits(Wrong())


SYNTHETIC = ["temporal_xor", "letters", "words", "adding", "latch", "two_sequence", "parity",
             "copy_memory", "reber", "flipflop", "perceptual_decision", "context_decision",
             "working_memory", "match_to_sample"]  # fmt: skip


@pytest.mark.parametrize("name", SYNTHETIC)
def test_the_splits_of_a_synthetic_task_fit_the_kinds_it_declares(name):
    config_type, task_type = TASKS[name]
    fields = config_type.model_fields
    small = {k: v for k, v in {"num_train": 8, "num_val": 4, "num_test": 4}.items() if k in fields}
    checked_splits(task_type(config_type(**small)))
