"""The clipped PPO loss on values worked out by hand."""

import math

import pytest
import torch

from rnnlab.rl.loss import ppo_loss


def test_ppo_loss_on_hand_values():
    # ratios 1.5, 0.5, 1.1 and a padded position (mask 0) that must not count.
    log_probs = torch.log(torch.tensor([[1.5, 0.5, 1.1, 7.0]]))
    old = torch.zeros(1, 4)
    advantages = torch.tensor([[2.0, -1.0, 3.0, 100.0]])
    values = torch.tensor([[1.0, 0.0, 2.0, 50.0]])
    old_values = torch.tensor([[0.0, 0.0, 2.5, 0.0]])
    returns = torch.tensor([[3.0, 1.0, 2.0, 0.0]])
    entropy = torch.tensor([[0.5, 1.0, 1.5, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    loss = ppo_loss(log_probs, old, advantages, values, old_values, returns, entropy, mask,
                    clip=0.2, value_clip=0.2, value_coef=0.5, entropy_coef=0.01)  # fmt: skip
    # surrogate: min(1.5*2, 1.2*2) = 2.4; min(0.5*-1, 0.8*-1) = -0.8; min(1.1*3, 1.1*3) = 3.3
    assert loss.policy.item() == pytest.approx(-(2.4 - 0.8 + 3.3) / 3)
    # values clipped to old +- 0.2: 0.2, 0.0, 2.3; squared errors max(unclipped, clipped):
    # max(4, 7.84) = 7.84; max(1, 1) = 1; max(0, 0.09) = 0.09
    assert loss.value.item() == pytest.approx(0.5 * (7.84 + 1 + 0.09) / 3)
    assert loss.entropy.item() == pytest.approx(1.0)
    total = loss.policy.item() + 0.5 * loss.value.item() - 0.01 * 1.0
    assert loss.total.item() == pytest.approx(total)
    assert loss.clip_fraction.item() == pytest.approx(2 / 3)
    kl = sum((r - 1) - math.log(r) for r in (1.5, 0.5, 1.1)) / 3
    assert loss.approx_kl.item() == pytest.approx(kl)


def test_without_value_clipping_the_value_loss_is_half_the_mean_squared_error():
    ones = torch.ones(2, 3)
    values, returns = torch.arange(6.0).view(2, 3), torch.zeros(2, 3)
    loss = ppo_loss(ones * 0, ones * 0, ones, values, values + 5, returns, ones, ones,
                    clip=0.2, value_clip=None, value_coef=1.0, entropy_coef=0.0)  # fmt: skip
    assert loss.value.item() == pytest.approx(0.5 * sum(v * v for v in range(6)) / 6)
    assert loss.policy.item() == pytest.approx(-1.0)  # ratio 1, advantages 1


def test_the_clipped_side_passes_no_gradient():
    log_probs = torch.log(torch.tensor([[1.5, 0.9]])).requires_grad_()
    zeros = torch.zeros(1, 2)
    loss = ppo_loss(log_probs, zeros, torch.tensor([[1.0, 1.0]]), zeros, zeros, zeros,
                    zeros, torch.ones(1, 2), clip=0.2, value_clip=None, value_coef=0.0,
                    entropy_coef=0.0)  # fmt: skip
    loss.total.backward()
    # ratio 1.5 > 1.2 with A > 0: clipped, no gradient; ratio 0.9: d(-r/2)/dlog r = -0.45
    assert log_probs.grad[0, 0].item() == 0.0
    assert log_probs.grad[0, 1].item() == pytest.approx(-0.45)
