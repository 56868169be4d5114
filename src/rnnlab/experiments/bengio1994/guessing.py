"""Random weight guessing (Schmidhuber, Hochreiter & Bengio 2001): draw every weight of a small
recurrent net from U(-100, 100) until one classifies the whole training set correctly. A task
that falls to guessing in a few thousand trials says little about long-term learning."""

import numpy as np


def parity_guessing_trials(x: np.ndarray, target: np.ndarray, hidden_size: int, seed: int,
                           limit: int = 10_000, batch: int = 1000) -> int:  # fmt: skip
    """Trials until a random tanh net (1 input, ``hidden_size`` fully recurrent units, one
    thresholded output) gets every sequence of ``x`` (N, T) right; ``limit`` if none does.

    Candidates are evaluated ``batch`` at a time, in order, so the count is exact.
    """
    rng = np.random.default_rng(seed)
    N, T = x.shape
    H = hidden_size
    tried = 0
    while tried < limit:
        K = min(batch, limit - tried)
        w_in, b = rng.uniform(-100, 100, (K, H)), rng.uniform(-100, 100, (K, H))
        w_hh = rng.uniform(-100, 100, (K, H, H))
        w_out, b_out = rng.uniform(-100, 100, (K, H)), rng.uniform(-100, 100, K)
        h = np.zeros((K, N, H))
        for t in range(T):
            h = np.tanh(np.einsum("kij,knj->kni", w_hh, h) + w_in[:, None] * x[None, :, t, None]
                        + b[:, None])  # fmt: skip
        output = np.einsum("knh,kh->kn", h, w_out) + b_out[:, None] > 0
        correct = (output == target[None].astype(bool)).all(1)
        if correct.any():
            return tried + int(np.argmax(correct)) + 1
        tried += K
    return limit
