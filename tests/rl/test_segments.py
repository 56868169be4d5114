"""Sequence minibatches: cuts at episode starts, dummies and chunk boundaries."""

import numpy as np
import torch

from rnnlab.rl.segments import cut_segments


def test_segments_cut_at_starts_dummies_and_chunks():
    T = 10
    starts = np.zeros((T, 2), bool)
    valid = np.ones((T, 2), bool)
    starts[0] = True
    valid[4, 0], starts[5, 0] = False, True  # env 0: an episode ended at 3, dummy 4, start 5
    segments = cut_segments(starts, valid, chunk_length=4)
    got = list(zip(segments.env.tolist(), segments.start.tolist(), segments.lengths.tolist()))
    assert got == [(0, 0, 4), (0, 5, 4), (0, 9, 1), (1, 0, 4), (1, 4, 4), (1, 8, 2)]
    # every valid step exactly once, no dummy
    t, e, mask = segments.index()
    covered = sorted(zip(e[mask].tolist(), t[mask].tolist()))
    expected = sorted((env, step) for step in range(T) for env in range(2) if valid[step, env])
    assert covered == expected


def test_gather_and_initial_states():
    T, E, L, H = 6, 3, 1, 2
    starts = np.zeros((T, E), bool)
    starts[0] = True
    segments = cut_segments(starts, np.ones((T, E), bool), chunk_length=4)
    values = torch.arange(T * E, dtype=torch.float32).view(T, E)
    gathered = segments.gather(values)  # (N, 4)
    _, _, mask = segments.index()
    for n in range(len(segments)):
        for c in range(segments.lengths[n]):
            assert gathered[n, c] == values[segments.start[n] + c, segments.env[n]]
        assert mask[n].sum() == segments.lengths[n]
    states = torch.randn(T, L, E, H)
    (initial,) = segments.initial_states((states,))
    assert initial.shape == (L, len(segments), H)
    for n in range(len(segments)):
        torch.testing.assert_close(initial[:, n], states[segments.start[n], :, segments.env[n]])
