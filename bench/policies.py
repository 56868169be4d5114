"""Recurrent PPO speed: environment steps per second of rnnlab's PPO (LSTM-64, GRU-64 and the
feed-forward control) against sb3-contrib's RecurrentPPO (LSTM-64) on CartPole-v1 with the
velocities hidden, with the same environments, rollout length, epochs and minibatches.

The settings are RL Baselines3 Zoo's CartPoleNoVel recipe: 8 environments, 32-step rollouts,
20 epochs, 1 minibatch (sb3's batch_size 256), normalised observations and rewards
(``VecNormalize`` for sb3). sb3's policy shares its LSTM between actor and critic
(``shared_lstm=True, enable_critic_lstm=False``), an actor straight from the LSTM and a critic
of one 64-unit tanh layer (``net_arch=dict(pi=[], vf=[64])``): rnnlab's policy's shape.
sb3-contrib has no GRU, so the GRU row is compared with sb3's LSTM. The cases run back to
back, round-robin, ``--repeats`` times; the table gives the median steps/s (training only,
the time of ``learn`` or of the updates, no evaluation).

    python bench/policies.py                  # 8192 steps per run, 3 repeats
    python bench/policies.py --steps 4096 --out bench_policies.json

Needs the bench-only dependency sb3-contrib (``pip install sb3-contrib``).
"""

import argparse
import json
import statistics
import time

import torch

from rnnlab.rl.config import parse_policy_config
from rnnlab.rl.trainer import PPOTrainer, train_policy

ENV = {"id": "CartPole-v1", "observe": [0, 2], "num_envs": 8}
PPO = {"rollout_length": 32, "epochs": 20, "minibatches": 1, "lr": 1e-3, "gamma": 0.98,
       "gae_lambda": 0.8}  # fmt: skip


def rnnlab_steps_per_second(kind: str, steps: int, seed: int) -> float:
    config = parse_policy_config({
        "policy": {"kind": kind, "hidden_size": 64},
        "environment": ENV,
        "ppo": {**PPO, "total_steps": steps, "seed": seed},
    })  # fmt: skip
    trainer = PPOTrainer(config)
    trainer.update()  # warm-up: numba kernels compiled, first allocations
    trainer.updates = 0
    start = time.perf_counter()
    train_policy(trainer)
    return trainer.env_steps / (time.perf_counter() - start)


def sb3_steps_per_second(steps: int, seed: int) -> float:
    import gymnasium as gym
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    def make():
        env = gym.make("CartPole-v1")
        return gym.wrappers.TransformObservation(
            env, lambda o: o[[0, 2]],
            gym.spaces.Box(env.observation_space.low[[0, 2]], env.observation_space.high[[0, 2]]),
        )  # fmt: skip

    envs = VecNormalize(make_vec_env(make, n_envs=8, seed=seed), gamma=0.98)
    model = RecurrentPPO(
        "MlpLstmPolicy", envs, n_steps=32, batch_size=256, n_epochs=20, learning_rate=1e-3,
        gamma=0.98, gae_lambda=0.8, seed=seed, device="cpu", verbose=0,
        policy_kwargs=dict(lstm_hidden_size=64, net_arch=dict(pi=[], vf=[64]),
                           shared_lstm=True, enable_critic_lstm=False, ortho_init=True),
    )  # fmt: skip
    model.learn(256)  # warm-up
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=True)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="also write the table as JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = {
        "rnnlab lstm-64": lambda seed: rnnlab_steps_per_second("lstm", args.steps, seed),
        "rnnlab gru-64": lambda seed: rnnlab_steps_per_second("gru", args.steps, seed),
        "rnnlab feedforward-64": lambda seed: rnnlab_steps_per_second(
            "feedforward", args.steps, seed
        ),
        "sb3-contrib lstm-64": lambda seed: sb3_steps_per_second(args.steps, seed),
    }
    measured: dict[str, list[float]] = {name: [] for name in cases}
    for repeat in range(args.repeats):
        for name, run in cases.items():
            measured[name].append(run(repeat))
            print(f"repeat {repeat + 1} {name}: {measured[name][-1]:.0f} steps/s", flush=True)
    median = {name: statistics.median(values) for name, values in measured.items()}
    sb3 = median["sb3-contrib lstm-64"]
    print(f"\n{'policy':<24}{'steps/s (median)':>18}{'vs sb3 LSTM':>14}")
    for name, value in median.items():
        print(f"{name:<24}{value:>18.0f}{value / sb3:>13.1f}x")
    ratio = median["rnnlab gru-64"] / median["rnnlab feedforward-64"]
    print(f"recurrent (GRU) / feed-forward: {ratio:.2f}")
    if args.out:
        with open(args.out, "w") as file:
            json.dump({"steps": args.steps, "runs": measured, "median": median}, file, indent=1)


if __name__ == "__main__":
    main()
