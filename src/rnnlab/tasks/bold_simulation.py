"""Simulated fMRI: feature sequences, the voxels' neural drive, BOLD responses and noise.

The simulated analogue of Güçlü & van Gerven (2017) in ``studies_and_applications.md``
section 3.3 (our design; the paper's data cannot be had offline):

(a) **Features.** F non-negative features at ``feature_dt`` = 0.1 s, each the sum of a sparse
    event train (Poisson rate 0.2 / s, amplitude ~ U(0.5, 1.5), duration ~ U(0.1, 1.0) s) and a
    slow rectified AR(1) component (time constant 3 s, s.d. 0.3), clipped at >= 0. The response
    models see them averaged within each TR (1 s).
(b) **Neural drive** of V voxels: ``z_v = softplus(w_v . x + b_v)``, w_v sparse (3-5 non-zero
    features, ~ N(0, 1)), b_v = ``BIAS``; in the nonlinear condition with adaptation,
    ``dz~/dt = (z - z~) / tau_a`` (tau_a = 4 s, integrated exactly over each 0.1-s sample) and
    ``u = max(z - beta z~, 0)`` (beta = 0.6).
(c) **Haemodynamics**: the balloon-Windkessel model (:mod:`rnnlab.tasks.balloon`) with each
    voxel's kappa, gamma and tau jittered by +-15 % (uniform), integrated by RK4 at 0.01 s and
    read at the end of every TR. Each voxel's efficacy epsilon is set so that its response to
    an isolated event (amplitude 1, duration 0.5 s, on its strongest positive feature, from
    rest) peaks at ``PEAK_PERCENT`` (2 %) when the balloon is linearised (tiny epsilon, scaled
    up); the nonlinear condition then raises epsilon x3, so closely spaced events saturate.
    At x3 some voxels' inflow swings below zero after a strong drive ends, out of the domain of
    SPM's equations (E(f) and v^(1/alpha) are undefined there); their epsilon is lowered by
    ``REDUCTION`` until it no longer does (:attr:`BoldRuns.reduced` counts them; our addition).
    Every run starts ``WARMUP`` s before its first sample, from rest, with silent features.
(d) **Noise**: AR(1) per TR (phi = 0.3) with a per-voxel s.d. set so that the voxel's noise
    ceiling (the Spearman-Brown corrected correlation of two noisy repeats of the test run,
    ``2 r / (1 + r)``) is a target drawn from U(0.5, 0.8).
(e) **Conditions**: ``"lin"``, the control, ``u = w . x`` at TR resolution convolved with SPM's
    canonical HRF (:func:`canonical_hrf`) and no balloon, so that the classical model is
    correctly specified; ``"nl"``: (b) and (c).

8 runs of 600 s by default: runs 0-5 train, 6 validation, 7 test; the test run is observed
twice, with independent noise. Everything is drawn from one ``numpy.random.Generator`` seeded
with the config's seed, so the same config gives the same data bit for bit.

:class:`BoldRuns` holds one data set (simulated, or read from ``.npz`` files of runs by
:func:`load_runs`: a user's own fMRI), :class:`BoldResponses` is the task the trainer reads;
:mod:`rnnlab.tasks.bold_responses` is its ``[task]`` config (``name = "bold_responses"``).
"""

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.tasks.balloon import FLOOR, BalloonParameters, balloon_bold
from rnnlab.tasks.base import Split, Task, seed_field
from rnnlab.tasks.files import require_file

FEATURE_DT = 0.1  # s, the features' and the drive's sampling interval
TR = 1.0  # s, the BOLD sampling interval
EVENT_RATE = 0.2  # events per s and feature
SLOW_TAU, SLOW_SD = 3.0, 0.3  # the slow AR(1) component
BIAS = -1.0  # b_v of the drive's softplus
ADAPTATION_TAU, ADAPTATION_BETA = 4.0, 0.6
JITTER = 0.15  # +- of each voxel's kappa, gamma, tau
PEAK_PERCENT = 2.0  # the isolated-event peak that epsilon is set to
NL_GAIN = 3.0  # epsilon's factor in the nonlinear condition
NOISE_PHI = 0.3
CEILING_RANGE = (0.5, 0.8)
WARMUP = 30.0  # s of silence integrated before each run
# A voxel whose inflow or volume falls below balloon.FLOOR (out of SPM's equations' domain: a
# strong drive that stops swings the inflow below zero) has its efficacy lowered by this
# factor, at most MAX_REDUCTIONS times, until none does.
REDUCTION, MAX_REDUCTIONS = 0.6, 12


class BoldSimulationConfig(BaseModel):
    """The simulated data set's sizes, condition and seed (section 3.3)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    condition: Literal["lin", "nl"] = "nl"
    features: int = Field(16, ge=1, description="F, the feature sequences")
    voxels: int = Field(200, ge=1, description="V, the simulated voxels")
    runs: int = Field(8, ge=3, description="runs: the last is test, the one before validation")
    run_seconds: float = Field(600.0, ge=60.0, description="length of every run, s")
    seed: int = seed_field("seed of everything simulated")


@dataclass(frozen=True)
class BoldRuns:
    """A data set of runs: features (R, T, F) at TR resolution, responses (R, T, V); the test
    run is the last, the validation run the one before it, the rest train.

    ``test_repeat`` (T, V), a second noisy observation of the test run, gives the noise
    ceiling; ``clean`` (R, T, V) the noise-free signal; ``weights`` (V, F) the true loadings
    (simulated data only: None for a user's data)."""

    features: np.ndarray
    responses: np.ndarray
    test_repeat: np.ndarray | None = None
    clean: np.ndarray | None = None
    weights: np.ndarray | None = None
    condition: str = "data"
    reduced: int = 0  # voxels whose efficacy was lowered to keep the balloon in its domain

    def __post_init__(self) -> None:
        if self.features.ndim != 3 or self.responses.ndim != 3:
            raise ValueError(
                f"features must be (R, T, F) and responses (R, T, V); got "
                f"{self.features.shape} and {self.responses.shape}"
            )
        if self.features.shape[:2] != self.responses.shape[:2]:
            raise ValueError(
                f"features and responses must have the same runs and steps (R, T); got "
                f"{self.features.shape[:2]} and {self.responses.shape[:2]}"
            )
        if self.features.shape[0] < 3:
            raise ValueError(f"need >= 3 runs (train, validation, test); got {len(self.features)}")
        if self.test_repeat is not None and self.test_repeat.shape != self.responses.shape[1:]:
            raise ValueError(
                f"test_repeat must be (T, V) = {self.responses.shape[1:]}; got "
                f"{self.test_repeat.shape}"
            )

    @property
    def train(self) -> slice:
        return slice(0, self.features.shape[0] - 2)

    @property
    def noise_ceiling(self) -> np.ndarray | None:
        """(V,) the Spearman-Brown corrected r of the two test repeats, or None."""
        if self.test_repeat is None:
            return None
        return spearman_brown(pearson_columns(self.responses[-1], self.test_repeat))


# -- (a) features ----------------------------------------------------------------------------


def feature_sequences(features: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """(S, F) features at 0.1 s: sparse events plus a slow rectified AR(1), clipped >= 0."""
    S = round(seconds / FEATURE_DT)
    x = np.zeros((S, features))
    for f in range(features):
        onsets = np.flatnonzero(rng.random(S) < EVENT_RATE * FEATURE_DT)
        amplitudes = rng.uniform(0.5, 1.5, len(onsets))
        lengths = np.maximum(np.rint(rng.uniform(0.1, 1.0, len(onsets)) / FEATURE_DT), 1)
        for onset, amplitude, length in zip(onsets, amplitudes, lengths.astype(int)):
            x[onset : onset + length, f] += amplitude
    a = np.exp(-FEATURE_DT / SLOW_TAU)
    innovations = rng.normal(0, SLOW_SD * np.sqrt(1 - a * a), (S, features))
    slow = np.empty((S, features))
    slow[0] = rng.normal(0, SLOW_SD, features)
    for t in range(1, S):
        slow[t] = a * slow[t - 1] + innovations[t]
    return np.clip(x + np.maximum(slow, 0), 0, None)


def tr_average(x: np.ndarray) -> np.ndarray:
    """(S, ...) samples at 0.1 s averaged within each TR: (S / 10, ...)."""
    per = round(TR / FEATURE_DT)
    return x[: len(x) // per * per].reshape(len(x) // per, per, *x.shape[1:]).mean(1)


# -- (b) drive -------------------------------------------------------------------------------


def loadings(voxels: int, features: int, rng: np.random.Generator) -> np.ndarray:
    """(V, F) sparse weights: 3-5 non-zero features per voxel (fewer if F < 3), ~ N(0, 1)."""
    w = np.zeros((voxels, features))
    for v in range(voxels):
        k = min(int(rng.integers(3, 6)), features)
        w[v, rng.choice(features, k, replace=False)] = rng.normal(0, 1, k)
    return w


def neural_drive(x: np.ndarray, w: np.ndarray, adaptation: bool = True) -> np.ndarray:
    """(V, S) the drive u of each voxel from features x (S, F) at 0.1 s: softplus, then
    adaptation from rest (:func:`adapt`)."""
    z = np.logaddexp(0.0, x @ w.T + BIAS).T  # (V, S) softplus
    if not adaptation:
        return z
    return adapt(z, np.full(z.shape[0], np.log1p(np.exp(BIAS))))  # at rest, z~ = softplus(b)


def adapt(z: np.ndarray, level: np.ndarray) -> np.ndarray:
    """(V, S) ``u = max(z - beta z~, 0)`` with ``dz~/dt = (z - z~) / tau_a``, z (V, S) held
    over each 0.1-s sample (so z~ is updated exactly), z~ starting at ``level`` (V,)."""
    decay = np.exp(-FEATURE_DT / ADAPTATION_TAU)
    adapted = np.empty_like(z)
    level = np.array(level, dtype=np.float64)
    for t in range(z.shape[1]):
        adapted[:, t] = level
        level = z[:, t] + (level - z[:, t]) * decay
    return np.maximum(z - ADAPTATION_BETA * adapted, 0.0)


# -- (c) haemodynamics -----------------------------------------------------------------------


def canonical_hrf(dt: float = TR, length: float = 32.0) -> np.ndarray:
    """SPM's canonical HRF (``spm_hrf``, p = [6 16 1 1 6 0 32]) sampled at 0, dt, ...: the
    difference of two gamma densities (shape 6 and 16, scale 1, the second / 6), summing to 1.
    """
    # scipy.stats takes 1-1.5 s to import, and the task registry (every `rnnlab train`)
    # imports this module: it is read here, where it is needed.
    from scipy import stats

    t = np.arange(0, length, dt)
    h = stats.gamma.pdf(t, 6.0) - stats.gamma.pdf(t, 16.0) / 6.0
    return h / h.sum()


def voxel_parameters(voxels: int, rng: np.random.Generator) -> BalloonParameters:
    """The default balloon with kappa, gamma and tau jittered by +-15 % per voxel."""
    base = BalloonParameters()

    def jitter(value: float) -> np.ndarray:
        return value * rng.uniform(1 - JITTER, 1 + JITTER, voxels)

    return BalloonParameters(kappa=jitter(base.kappa), gamma=jitter(base.gamma),
                             tau=jitter(base.tau))  # fmt: skip


def calibrated_efficacy(w: np.ndarray, parameters: BalloonParameters) -> np.ndarray:
    """(V,) epsilon so that each voxel's linearised response to an isolated event (amplitude 1,
    0.5 s, on its feature of largest |w| (at least 0.5), as if w > 0) peaks at ``PEAK_PERCENT``."""
    V = w.shape[0]
    strongest = np.maximum(np.abs(w).max(1), 0.5)  # an event on its strongest feature
    S = round(30.0 / FEATURE_DT)
    drive = np.zeros((V, S))
    rest = np.log1p(np.exp(BIAS))
    drive[:, :5] = (np.logaddexp(0.0, strongest + BIAS) - rest)[:, None]
    small = 1e-3
    probe = BalloonParameters(parameters.kappa, parameters.gamma, parameters.tau,
                              epsilon=np.full(V, small))  # fmt: skip
    peak = balloon_bold(drive, probe, FEATURE_DT, FEATURE_DT).max(1)
    return small * PEAK_PERCENT / peak


# -- (d) noise -------------------------------------------------------------------------------


def ar1_noise(shape: tuple[int, int], sd: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, V) AR(1) noise (phi = 0.3) with marginal s.d. ``sd`` (V,), stationary from t = 0."""
    T, V = shape
    e = rng.normal(0, 1, (T, V)) * sd * np.sqrt(1 - NOISE_PHI**2)
    out = np.empty((T, V))
    out[0] = rng.normal(0, 1, V) * sd
    for t in range(1, T):
        out[t] = NOISE_PHI * out[t - 1] + e[t]
    return out


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(V,) the Pearson r of each column of a (T, V) with the same column of b."""
    a = a - a.mean(0)
    b = b - b.mean(0)
    denominator = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    return (a * b).sum(0) / np.where(denominator > 0, denominator, np.inf)


def spearman_brown(r: np.ndarray) -> np.ndarray:
    """The reliability of the mean of two repeats from their correlation: 2 r / (1 + r)."""
    return 2 * r / (1 + r)


# -- the data set ----------------------------------------------------------------------------


def simulate(config: BoldSimulationConfig) -> BoldRuns:
    """One simulated data set (section 3.3), deterministic in ``config``."""
    rng = np.random.default_rng(config.seed)
    F, V, R = config.features, config.voxels, config.runs
    w = loadings(V, F, rng)
    raw = [feature_sequences(F, config.run_seconds, rng) for _ in range(R)]  # (S, F) each
    features = np.stack([tr_average(x) for x in raw])  # (R, T, F)
    T = features.shape[1]
    if config.condition == "lin":
        hrf = canonical_hrf()
        drive = features @ w.T  # (R, T, V)
        clean = np.stack([
            np.stack([np.convolve(drive[r, :, v], hrf)[:T] for v in range(V)], 1)
            for r in range(R)
        ])  # fmt: skip
    else:
        parameters = voxel_parameters(V, rng)
        calibrated = NL_GAIN * calibrated_efficacy(w, parameters)
        epsilon = calibrated.copy()
        drives = [neural_drive(np.concatenate([np.zeros((round(WARMUP / FEATURE_DT), F)), x]), w)
                  for x in raw]  # fmt: skip
        runs = np.zeros((R, V, round(WARMUP / TR) + T))
        todo = np.arange(V)
        for _ in range(MAX_REDUCTIONS + 1):  # the voxels that left the domain, ε lowered
            lowest = np.ones((R, len(todo)))
            p = BalloonParameters(parameters.kappa[todo], parameters.gamma[todo],
                                  parameters.tau[todo], epsilon=epsilon[todo])  # fmt: skip
            for r, drive in enumerate(drives):
                runs[r, todo] = balloon_bold(drive[todo], p, FEATURE_DT, TR, lowest=lowest[r])
            left = lowest.min(0) < FLOOR
            if not left.any():
                break
            todo = todo[left]
            epsilon[todo] *= REDUCTION
        else:
            raise FloatingPointError(f"{len(todo)} voxels' balloon left its domain")
        reduced = int((epsilon < calibrated).sum())
        runs = [run[:, round(WARMUP / TR) :].T for run in runs]
        clean = np.stack(runs)  # (R, T, V)
    target = rng.uniform(*CEILING_RANGE, V)
    reliability = target / (2 - target)  # r of two repeats whose Spearman-Brown is target
    signal_sd = clean[-1].std(0)
    sd = signal_sd * np.sqrt((1 - reliability) / reliability)
    responses = clean + np.stack([ar1_noise((T, V), sd, rng) for _ in range(R)])
    repeat = clean[-1] + ar1_noise((T, V), sd, rng)
    return BoldRuns(features, responses, repeat, clean, w, config.condition,
                    reduced if config.condition == "nl" else 0)  # fmt: skip


def load_runs(features: str | Path, responses: str | Path) -> BoldRuns:
    """A user's data: two ``.npz`` files with one array per run, in the same order (the last
    run is the test run, the one before it validation): features (T, F) and responses (T, V)
    each. An array named ``test_repeat`` in the responses' file, (T, V) of the test run, is a
    second observation of it (for the noise ceiling).

    A file that is missing or not a ``.npz`` of finite numbers, runs that the two files name
    differently, fewer than 3 runs, or runs of different shapes are a
    :class:`~rnnlab.errors.RnnlabError` that names the file and what was expected."""
    x = _read_npz(features, "features")
    y = _read_npz(responses, "responses")
    repeat = y.pop("test_repeat", None)
    files = f"features file {features} and responses file {responses}"
    if list(x) != list(y):
        raise RnnlabError(
            f"{files} must name the same runs in the same order; got {list(x)} and {list(y)}"
        )
    if len(x) < 3:
        raise RnnlabError(
            f"{files} hold {len(x)} runs {list(x)}; expected at least 3 (the last is the test "
            f"run, the one before it validation, the rest train)"
        )
    for name in x:
        fits = x[name].ndim == 2 and y[name].ndim == 2 and len(x[name]) == len(y[name])
        if not fits or len(x[name]) < 2 or 0 in (x[name].shape[1], y[name].shape[1]):
            raise RnnlabError(
                f"run {name!r} of {files}: expected features (T, F) and responses (T, V) with "
                f"one T >= 2 and F, V >= 1; got {x[name].shape} and {y[name].shape}"
            )
    first = next(iter(x))
    for what, arrays, path in (("features", x, features), ("responses", y, responses)):
        shapes = {name: array.shape for name, array in arrays.items()}
        if len(set(shapes.values())) != 1:
            raise RnnlabError(
                f"{what} file {path}: every run must have the same shape (the same T and the "
                f"same {'F' if what == 'features' else 'V'}); got {shapes}"
            )
    if repeat is not None and repeat.shape != y[first].shape:
        raise RnnlabError(
            f"responses file {responses}: test_repeat must have the runs' shape (T, V) = "
            f"{y[first].shape}; got {repeat.shape}"
        )
    return BoldRuns(np.stack(list(x.values())), np.stack(list(y.values())), repeat)


def _read_npz(path: str | Path, what: str) -> dict[str, np.ndarray]:
    """The arrays of a ``.npz`` file as float64, or a RnnlabError naming the file."""
    path = require_file(path, f"{what} file")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):  # a .npy: one array, not runs
            raise ValueError(f"it holds one array {data.shape}, not named runs (np.savez)")
        with data:
            arrays = {name: np.asarray(data[name], dtype=np.float64) for name in data.files}
    except (ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise RnnlabError(
            f"{what} file {path} is not a readable .npz of arrays, one per run: {error}"
        ) from None
    for name, array in arrays.items():
        if not np.all(np.isfinite(array)):
            raise RnnlabError(f"{what} file {path}: array {name!r} has NaN or infinite values")
    return arrays


# -- the task --------------------------------------------------------------------------------


class BoldResponses(Task):
    """The responses of V voxels to F features, per TR, as a stream task for the trainer.

    The training runs are one stream (1, R_train T, F), the trainer's parallel streams one per
    run (batch size = training runs); the first ``burn_in`` steps of each run are masked (the
    state then carries over them, as the spec's burn-in). Inputs are z-scored features, targets
    z-scored responses (both with the training runs' mean and s.d.); validation and test are
    one stream each (the test's first repeat).

    Metric: ``median_r``, the median over voxels of the Pearson r of the predictions with the
    responses over the split's steps with loss (on the test split, the study's measure:
    :func:`rnnlab.experiments.guclu2017.measures.test_correlations`). A run directory gets
    ``bold_responses.json``: the sizes and the z-scoring, so that a network's outputs can be
    read in the responses' units (``outputs * y_sd + y_mean``)."""

    name = "bold_responses"
    description = (
        "Güçlü & van Gerven (2017): voxel responses to features, simulated fMRI or .npz runs"
    )
    stream = True
    loss = "mse"

    def __init__(self, runs: BoldRuns, burn_in: int = 32) -> None:
        T = runs.features.shape[1]
        if not 0 <= burn_in < T:
            raise ConfigError(f"burn_in must be in 0 .. T - 1 = {T - 1} (the runs' steps); "
                              f"got {burn_in}")  # fmt: skip
        self.runs = runs
        self.burn_in = burn_in
        self.input_size = runs.features.shape[2]
        self.output_size = runs.responses.shape[2]
        train = runs.train
        self.x_mean = runs.features[train].mean((0, 1))
        self.x_sd = np.where((sd := runs.features[train].std((0, 1))) > 0, sd, 1.0)
        self.y_mean = runs.responses[train].mean((0, 1))
        self.y_sd = np.where((sd := runs.responses[train].std((0, 1))) > 0, sd, 1.0)

    def inputs_of(self, features: np.ndarray) -> torch.Tensor:
        """Features (..., F) in the units of the inputs: z-scored, float32."""
        return torch.as_tensor((features - self.x_mean) / self.x_sd, dtype=torch.float32)

    def targets_of(self, responses: np.ndarray) -> torch.Tensor:
        return torch.as_tensor((responses - self.y_mean) / self.y_sd, dtype=torch.float32)

    def splits(self) -> dict[str, Split]:
        runs = self.runs
        n, T = runs.features[runs.train].shape[:2]
        mask = torch.ones(n, T, dtype=torch.bool)
        mask[:, : self.burn_in] = False

        def one(r: int) -> Split:
            return Split(self.inputs_of(runs.features[r])[None],
                         self.targets_of(runs.responses[r])[None])  # fmt: skip

        return {
            "train": Split(self.inputs_of(runs.features[runs.train]).reshape(1, n * T, -1),
                           self.targets_of(runs.responses[runs.train]).reshape(1, n * T, -1),
                           mask.reshape(1, n * T)),
            "val": one(-2),
            "test": one(-1),
        }  # fmt: skip

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        V = predictions.shape[-1]
        p, y = predictions.reshape(-1, V).double(), split.y.reshape(-1, V).double()  # (N T, V)
        if split.mask is not None:
            p, y = p[split.mask.reshape(-1)], y[split.mask.reshape(-1)]
        return {"median_r": float(np.median(pearson_columns(p.numpy(), y.numpy())))}

    def save(self, directory: Path) -> None:
        R, T, F = self.runs.features.shape
        data = {
            "condition": self.runs.condition, "runs": R, "steps": T, "features": F,
            "voxels": self.output_size, "burn_in": self.burn_in,
            "x_mean": self.x_mean.tolist(), "x_sd": self.x_sd.tolist(),
            "y_mean": self.y_mean.tolist(), "y_sd": self.y_sd.tolist(),
        }  # fmt: skip
        text = json.dumps(data, indent=1)
        Path(directory, "bold_responses.json").write_text(text, encoding="utf-8")
