"""Recurrent policies acting in gymnasium environments with hidden state (PPO).

:mod:`rnnlab.rl.config`
    ``PolicyRunConfig`` (``[policy]``, ``[environment]``, ``[ppo]``), ``parse_policy_config``.
:mod:`rnnlab.rl.environments`
    ``make_environment`` (an id, hidden state, frame stacks), ``make_vector_environment``.
:mod:`rnnlab.rl.policy`
    ``Policy``: actor and critic over any rnnlab layer family, or feed-forward.
:mod:`rnnlab.rl.normalisation`
    Running moments, observation normalisation, reward scaling.
:mod:`rnnlab.rl.rollout`
    ``RolloutCollector``: rollouts with gymnasium 1.x's next-step autoreset handled.
:mod:`rnnlab.rl.advantages`
    ``gae``: generalised advantage estimation over episode ends and autoreset dummies.
:mod:`rnnlab.rl.segments`
    ``cut_segments``: sequence minibatches with stored initial states and lengths.
:mod:`rnnlab.rl.loss`
    ``ppo_loss``: the clipped objective, value clipping and the entropy bonus.
:mod:`rnnlab.rl.trainer`
    ``PPOTrainer`` and ``train_policy``: the loop.
:mod:`rnnlab.rl.evaluation`
    ``evaluate_policy``: mean return over N seeded episodes.
"""

from rnnlab.rl.advantages import gae
from rnnlab.rl.config import PolicyRunConfig, is_policy_config, parse_policy_config
from rnnlab.rl.evaluation import PolicyEvaluation, evaluate_policy
from rnnlab.rl.loss import PPOLoss, ppo_loss
from rnnlab.rl.policy import Policy
from rnnlab.rl.rollout import Rollout, RolloutCollector
from rnnlab.rl.segments import Segments, cut_segments
from rnnlab.rl.trainer import PPOTrainer, train_policy

__all__ = [
    "PPOLoss",
    "PPOTrainer",
    "Policy",
    "PolicyEvaluation",
    "PolicyRunConfig",
    "Rollout",
    "RolloutCollector",
    "Segments",
    "cut_segments",
    "evaluate_policy",
    "gae",
    "is_policy_config",
    "parse_policy_config",
    "ppo_loss",
    "train_policy",
]
