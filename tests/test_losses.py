"""The losses: one function per kind of targets, each refusing outputs of another shape."""

import typing

import pytest
import torch
import torch.nn.functional as F

from rnnlab.losses import TARGET_LOSSES, Targets, masked_loss, per_sequence_loss


def test_every_kind_of_targets_has_its_loss():
    assert set(TARGET_LOSSES) == set(typing.get_args(Targets))
    assert TARGET_LOSSES["per_sequence"] is per_sequence_loss
    assert TARGET_LOSSES["per_step"] is TARGET_LOSSES["sequence"] is masked_loss


def test_one_target_per_sequence_is_the_cross_entropy_of_the_final_outputs():
    torch.manual_seed(0)
    outputs, y, weight = torch.randn(6, 3), torch.tensor([0, 2, 1, 1, 0, 2]), torch.rand(3)
    expected = F.cross_entropy(outputs, y, weight=weight, label_smoothing=0.1)
    found = per_sequence_loss(outputs, y, None, "cross_entropy", weight, 0.1)
    assert torch.equal(found, expected)


def test_masked_loss_refuses_one_output_per_sequence():
    with pytest.raises(ValueError, match=r"at every step, \(B, T, O\); got shape \(6, 3\) \(one"):
        masked_loss(torch.randn(6, 3), torch.zeros(6, dtype=torch.long), None, "cross_entropy")


def test_per_sequence_loss_refuses_outputs_at_every_step_a_mask_and_other_losses():
    y = torch.zeros(6, dtype=torch.long)
    with pytest.raises(ValueError, match=r"one output per sequence, \(B, O\); got shape \(6, 4, "):
        per_sequence_loss(torch.randn(6, 4, 3), y, None, "cross_entropy")
    with pytest.raises(ValueError, match="no steps to mask"):
        per_sequence_loss(torch.randn(6, 3), y, torch.ones(6, 4, dtype=torch.bool), "cross_entropy")
    with pytest.raises(ValueError, match="needs loss 'cross_entropy'; got 'mse'"):
        per_sequence_loss(torch.randn(6, 3), y, None, "mse")
