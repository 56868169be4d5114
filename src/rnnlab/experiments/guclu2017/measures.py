"""What the checks read: per-voxel correlations on the test run, their ratio to the noise
ceiling, paired comparisons over voxels, and a trained network's impulse response."""

from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from rnnlab.tasks.balloon import BalloonParameters, balloon_bold
from rnnlab.tasks.bold_simulation import (
    FEATURE_DT,
    NL_GAIN,
    PEAK_PERCENT,
    TR,
    BoldResponses,
    adapt,
    pearson_columns,
)

SILENCE = 60  # TRs of silent features before the probe's pulse
AFTER = 30  # TRs read after it


@dataclass(frozen=True)
class Comparison:
    """Model a against model b over voxels: the difference of median r, the share of voxels
    where a is better, and the paired Wilcoxon signed-rank test's p (two-sided)."""

    delta: float
    wins: float
    p_value: float


def compare(r_a: np.ndarray, r_b: np.ndarray) -> Comparison:
    """a vs b from their per-voxel r (V,)."""
    p = float(stats.wilcoxon(r_a, r_b).pvalue) if np.any(r_a != r_b) else 1.0
    return Comparison(float(np.median(r_a) - np.median(r_b)), float(np.mean(r_a > r_b)), p)


def test_correlations(prediction: np.ndarray, task: BoldResponses) -> np.ndarray:
    """(V,) Pearson r of a prediction of the test run (T, V) with its first observation."""
    return pearson_columns(prediction, task.runs.responses[-1])


def impulse_response(network: torch.nn.Module, task: BoldResponses, loaded: np.ndarray,
                     ) -> np.ndarray:  # fmt: skip
    """(AFTER,) a network's response to a unit pulse (one TR) on one feature after ``SILENCE``
    TRs of silent features, minus its response to silence, averaged over the voxels that load
    on the feature (``loaded`` (V, F) True) and over the features, in the responses' units.
    Sample j is the TR that ends j + 1 s after the pulse's onset."""
    F = task.input_size
    silent = np.zeros((SILENCE + AFTER, F))
    with torch.no_grad():
        base, _ = network(task.inputs_of(silent)[None])
        curves = []
        for f in range(F):
            voxels = loaded[:, f]
            if not voxels.any():
                continue
            pulse = silent.copy()
            pulse[SILENCE, f] = 1.0
            out, _ = network(task.inputs_of(pulse)[None])
            change = (out - base)[0, SILENCE:].double().numpy() * task.y_sd  # (AFTER, V)
            curves.append(change[:, voxels].mean(1))
    return np.mean(curves, 0)


def peak_time(curve: np.ndarray) -> float:
    """The time (s after the pulse's onset) of the largest value of an impulse response."""
    return float((int(np.argmax(curve)) + 1) * TR)


def pulse_responses(epsilon: float = 0.1, dt: float = 0.01) -> dict[str, np.ndarray]:
    """The generator's responses for its sanity checks, at ``dt``: one 1-s unit pulse of drive
    into the default balloon (efficacy ``epsilon``: near the linear regime), and, in the
    nonlinear condition, a 1-s event of unit drive change once and twice (onsets 2 s apart)
    through the adaptation and the balloon at ``NL_GAIN`` times the efficacy that gives a
    ``PEAK_PERCENT`` isolated-event peak."""
    S = round(40.0 / FEATURE_DT)
    one, two = np.zeros(S), np.zeros(S)
    one[:10] = 1.0
    two[:10] = two[20:30] = 1.0
    single = balloon_bold(one[None], BalloonParameters(epsilon=epsilon), FEATURE_DT, dt)[0]
    probe = balloon_bold(one[None, :5], BalloonParameters(epsilon=1e-3), FEATURE_DT, dt)[0]
    gain = NL_GAIN * 1e-3 * PEAK_PERCENT / probe.max()

    nl = BalloonParameters(epsilon=gain)
    return {
        "single": single,
        "nl_one": balloon_bold(adapt(one[None], np.zeros(1)), nl, FEATURE_DT, dt)[0],
        "nl_two": balloon_bold(adapt(two[None], np.zeros(1)), nl, FEATURE_DT, dt)[0],
        "dt": np.array(dt),
    }
