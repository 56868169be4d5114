"""Episodes of a trained policy as a GIF: the environment's rgb frames, and beside them the
path of the policy's hidden state through its first two principal components.

The principal components are those of every hidden state of the episodes drawn (scikit-learn's
PCA); the feed-forward control's "hidden state" is its hidden layer, which forgets each
observation at the next. Frames come from ``render_mode="rgb_array"`` (classic control needs
pygame: ``gymnasium[classic-control]``); an environment without rgb frames shows its
observation as bars instead.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnlab.rl.config import EnvironmentConfig
from rnnlab.rl.environments import make_environment
from rnnlab.rl.normalisation import ObservationNormaliser
from rnnlab.rl.policy import Policy


@dataclass(frozen=True)
class PlayedEpisodes:
    returns: list[float]
    lengths: list[int]
    frames: int
    path: Path


@torch.no_grad()
def play_episodes(policy: Policy, normaliser: ObservationNormaliser,
                  environment: EnvironmentConfig, path: str | Path, episodes: int = 3,
                  seed: int = 10_000, max_steps: int = 200,
                  fps: int = 20) -> PlayedEpisodes:  # fmt: skip
    """Play ``episodes`` deterministic episodes (episode i seeded ``seed + i``; at most
    ``max_steps`` frames drawn of each, the return counted to the end) and write the GIF."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame without a display
    policy.eval()
    env = make_environment(environment, render_mode="rgb_array")
    frames, hidden, observations, marks, returns, lengths = [], [], [], [], [], []
    space = env.action_space
    try:
        for episode in range(episodes):
            observation, _ = env.reset(seed=seed + episode)
            state = policy.initial_state(1)
            total, t, done = 0.0, 0, False
            while not done:
                x = torch.as_tensor(normaliser(observation[None]))
                state = policy.reset(state, torch.tensor([t == 0]))
                features, state = policy.features(x[:, None], state)
                action = policy.greedy(policy.distribution(features[:, 0]))[0].numpy()
                if policy.kind == "continuous":
                    action = np.clip(action, space.low, space.high)
                if t < max_steps:
                    frames.append(_frame(env))
                    hidden.append(features[0, 0].numpy())
                    observations.append(np.asarray(observation, np.float32))
                    marks.append((episode, t, total))
                observation, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                t += 1
                done = terminated or truncated
            returns.append(total)
            lengths.append(t)
    finally:
        env.close()
    _write_gif(Path(path), frames, np.stack(hidden), np.stack(observations), marks, returns,
               policy.recurrent, fps)  # fmt: skip
    return PlayedEpisodes(returns, lengths, len(frames), Path(path))


def _frame(env):
    try:
        frame = env.render()
    except Exception:  # an environment that cannot draw itself: bars of the observation
        return None
    return frame if isinstance(frame, np.ndarray) and frame.ndim == 3 else None


def _write_gif(path, frames, hidden, observations, marks, returns, recurrent, fps) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter
    from sklearn.decomposition import PCA

    components = min(2, hidden.shape[1], len(hidden))
    pcs = PCA(components).fit_transform(hidden) if len(hidden) > 1 else np.zeros((1, 1))
    if pcs.shape[1] == 1:
        pcs = np.concatenate([pcs, np.zeros_like(pcs)], axis=1)
    episodes = np.array([m[0] for m in marks])
    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3.6), dpi=60)
    has_frames = frames[0] is not None
    if has_frames:
        image = left.imshow(frames[0])
        left.set_axis_off()
    else:
        bars = left.bar(range(observations.shape[1]), observations[0])
        bound = float(np.abs(observations).max()) or 1.0
        left.set_ylim(-bound, bound)
        left.set_title("observation")
    colours = plt.cm.tab10(np.arange(10))
    for e in np.unique(episodes):
        right.plot(*pcs[episodes == e].T, color=colours[e % 10], alpha=0.25, lw=0.8)
    trail = right.plot([], [], lw=1.5)[0]
    head = right.plot([], [], "o", color="k")[0]
    right.set_xlabel("PC 1")
    right.set_ylabel("PC 2")
    right.set_title("hidden state" if recurrent else "hidden layer (no memory)")
    text = figure.suptitle("")
    figure.tight_layout()

    def draw(i):
        episode, t, total = marks[i]
        if has_frames:
            image.set_data(frames[i])
        else:
            for bar, value in zip(bars, observations[i]):
                bar.set_height(value)
        chosen = (episodes == episode) & (np.arange(len(marks)) <= i)
        trail.set_data(*pcs[chosen].T)
        trail.set_color(colours[episode % 10])
        head.set_data(pcs[i : i + 1].T)
        text.set_text(f"episode {episode + 1}  step {t}  return {total:.4g} "
                      f"(of {returns[episode]:.4g})")  # fmt: skip
        return ()

    path.parent.mkdir(parents=True, exist_ok=True)
    FuncAnimation(figure, draw, frames=len(marks), blit=False).save(
        path, writer=PillowWriter(fps=fps)
    )
    plt.close(figure)
