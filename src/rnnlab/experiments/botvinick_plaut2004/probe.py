"""Context coding: does the hidden state say which task is under way where the input does not?

Each network runs the uninstructed tea and coffee sequences with sugar from the packet
(teacher-forced, noise-free), from ``starts`` random initial states each. At every step whose
input is the same in both sequences (most of the sugar subtask), the hidden states are labelled
tea or coffee; a logistic-regression probe is scored by 5-fold cross-validation, per network.
The check (``studies_and_applications.md`` 5.4) asks for accuracy >= 0.95.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from rnnlab.experiments.botvinick_plaut2004.network import Networks
from rnnlab.tasks.coffee_tea import run_sequence


def shared_steps(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (i, j) of steps of ``a`` and ``b`` with equal inputs, j matched in order."""
    pairs, used = [], set()
    for i, row in enumerate(a):
        for j, other in enumerate(b):
            if j not in used and np.array_equal(row, other) and (not pairs or j > pairs[-1][1]):
                pairs.append((i, j))
                used.add(j)
                break
    return pairs


@torch.no_grad()
def task_probe(networks: Networks, seed: int, starts: int = 40) -> float:
    """Mean (over networks) cross-validated accuracy of decoding the task."""
    tea, _ = run_sequence(("teabag", "sugar-packet", "drink"), None)
    coffee, _ = run_sequence(("grounds", "sugar-packet", "cream", "drink"), None)
    pairs = [(i, j) for i, j in shared_steps(tea, coffee) if i > 0]
    generator = torch.Generator().manual_seed(seed)
    hidden = {}
    for name, x in (("tea", tea), ("coffee", coffee)):
        batch = torch.tensor(x, dtype=torch.float32)[None].expand(starts, -1, -1)
        _, states, _ = networks(batch, networks.initial_state(starts, generator))
        hidden[name] = states.numpy()  # (N, starts, T, H)
    accuracies = []
    for k in range(len(networks)):
        features = np.concatenate([hidden["tea"][k][:, [i for i, _ in pairs]].reshape(-1, 50),
                                   hidden["coffee"][k][:, [j for _, j in pairs]]
                                   .reshape(-1, 50)])  # fmt: skip
        labels = np.repeat([0, 1], len(features) // 2)
        probe = LogisticRegression(max_iter=2000)
        accuracies.append(float(cross_val_score(probe, features, labels, cv=5).mean()))
    return float(np.mean(accuracies))
