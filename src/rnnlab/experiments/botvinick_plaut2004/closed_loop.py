"""Testing in a closed perception-action loop, with noise in the context.

Every network runs ``trials`` trials at once, each in its own kitchen: the kitchen renders the
input, the network's hidden units update, Gaussian noise of s.d. ``noise`` is added to every
hidden unit (that noisy state drives the output and is the next step's context), the arg-max
output is the action, and the kitchen executes it, up to ``say-done`` or 100 steps
(``classic_experiments.md`` section 4.3). Hidden states start in U(0.01, 0.99).
"""

from __future__ import annotations

import numpy as np
import torch

from rnnlab.experiments.botvinick_plaut2004.network import Networks
from rnnlab.tasks.kitchen import ACTIONS, Kitchen

MAX_STEPS = 100


@torch.no_grad()
def run_trials(networks: Networks, instruction: str | None, noise: float, trials: int,
               seed: int, max_steps: int = MAX_STEPS) -> list[list[dict]]:  # fmt: skip
    """``trials`` trials of every network; returns, per network, one dict per trial with its
    ``actions`` and ``sugar_targets`` (where each ``fixate-sugar`` landed)."""
    if noise < 0:
        raise ValueError(f"noise must be a standard deviation >= 0; got {noise}")
    n = len(networks)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    records = [[{"actions": [], "sugar_targets": []} for _ in range(trials)] for _ in range(n)]
    worlds = []
    for k in range(n):
        row = []
        for m in range(trials):
            targets = records[k][m]["sugar_targets"]

            def choose(targets=targets) -> str:
                target = "sugar packet" if rng.random() < 0.5 else "sugar bowl"
                targets.append(target)
                return target

            row.append(Kitchen(instruction=instruction, choose_sugar=choose))
        worlds.append(row)
    hidden = networks.initial_state(trials, generator)[:, 0]
    x = np.zeros((n, trials, 39), dtype=np.float32)
    active = [(k, m, worlds[k][m], records[k][m]["actions"]) for k in range(n)
              for m in range(trials)]  # fmt: skip
    for _ in range(max_steps):
        if not active:
            break
        for k, m, world, _actions in active:
            x[k, m] = world.render()
        hidden = networks.step(torch.from_numpy(x), hidden)
        if noise > 0:
            hidden = hidden + noise * torch.randn(hidden.shape, generator=generator)
        choice = networks.readout(hidden).argmax(-1).tolist()
        for k, m, world, actions in active:
            action = ACTIONS[choice[k][m]]
            actions.append(action)
            world.act(action)
        active = [entry for entry in active if not entry[2].done]
    return records
