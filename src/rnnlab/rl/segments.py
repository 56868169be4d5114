"""Sequence minibatches: a rollout cut into segments that truncated BPTT runs over.

Each environment's T steps are cut where an episode starts and every ``chunk_length`` steps,
and the autoreset dummies are left out. A segment starts from the state stored at its first
step (the fresh state where an episode starts, the rollout's state elsewhere), and the
segments are padded to ``chunk_length`` and run as one batch on the layers' fast path, with
``lengths`` ending each at its last valid step. Shuffling segments (not single transitions)
keeps every step after the one it follows (the pitfall of §8.4.3 in the spec).
"""

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Segments:
    """N segments: environment ``env[n]``, steps ``start[n]`` .. ``start[n] + lengths[n] - 1``."""

    env: np.ndarray  # (N,)
    start: np.ndarray  # (N,)
    lengths: np.ndarray  # (N,), each in 1 .. chunk_length
    chunk_length: int

    def __len__(self) -> int:
        return len(self.env)

    def index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(t, e, mask)``, each (N, C): the rollout step and environment at each position
        of each segment (the padding repeats the last valid step), and the valid positions."""
        offsets = np.arange(self.chunk_length)
        mask = offsets[None] < self.lengths[:, None]
        t = self.start[:, None] + np.minimum(offsets[None], self.lengths[:, None] - 1)
        e = np.repeat(self.env[:, None], self.chunk_length, axis=1)
        return t, e, mask

    def gather(self, array: torch.Tensor) -> torch.Tensor:
        """A (T, E, ...) rollout array as (N, C, ...) segments."""
        t, e, _ = self.index()
        return array[torch.as_tensor(t), torch.as_tensor(e)]

    def initial_states(self, states: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """The stored states at each segment's first step: (T, L, E, H) parts to (L, N, H)."""
        t, e = torch.as_tensor(self.start), torch.as_tensor(self.env)
        return tuple(part[t, :, e].transpose(0, 1).contiguous() for part in states)


def cut_segments(starts: np.ndarray, valid: np.ndarray, chunk_length: int) -> Segments:
    """The segments of a rollout's (T, E) ``starts`` and ``valid`` (see the module
    docstring), in order of environment, then step."""
    T, E = starts.shape
    env, start, lengths = [], [], []
    for e in range(E):
        begin = None
        for t in range(T + 1):
            boundary = t == T or not valid[t, e] or starts[t, e]
            if begin is not None and (boundary or t - begin == chunk_length):
                env.append(e)
                start.append(begin)
                lengths.append(t - begin)
                begin = None
            if begin is None and t < T and valid[t, e]:
                begin = t
    return Segments(np.asarray(env), np.asarray(start), np.asarray(lengths), chunk_length)
