"""Speech features: log-mel spectra or MFCCs with deltas (librosa), normalised per utterance,
computed once per file and cached on disk; SpecAugment-style masking for training.

The settings are the fields of :class:`SpeechFeatureConfig`, which the speech tasks' ``[task]``
configs extend. For a signal at ``sample_rate`` Hz, frames of ``window_ms`` every ``hop_ms``
(25 ms / 10 ms by default: 200 / 80 samples at 8 kHz, a Hann window, an FFT of the next power
of two) give ``n_mels`` mel bands (power, then decibels: the log-mel spectrum, ``kind =
"log_mel"``) or, ``kind = "mfcc"``, the first ``n_mfcc`` cepstral coefficients of it (the
DCT-II of the log-mel spectrum, librosa's ``mfcc``). ``deltas`` = 1 or 2 appends their first
(and second) time derivatives (librosa's ``delta``, a Savitzky-Golay filter over 9 frames,
edges by the nearest frame). With ``normalise = "utterance"`` every feature of an utterance has
mean 0 and standard deviation 1 over its frames (cepstral mean and variance normalisation,
CMVN): it removes the level and the channel of a recording and much of a speaker's timbre.
``stack`` = k joins every k consecutive frames into one of k times the features (a k times
lower frame rate, as acoustic models for CTC often read). ``trim_db`` first cuts leading and
trailing audio more than that many decibels below the recording's peak (librosa's ``trim``).

:func:`spec_augment` masks random bands of features and runs of frames (Park et al. 2019,
"SpecAugment"); the tasks use it to add masked copies of the training utterances.
"""

import hashlib
import json
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rnnlab.errors import RnnlabError


class SpeechFeatureConfig(BaseModel):
    """The feature settings of a speech task's ``[task]``; see the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    sample_rate: int = Field(8000, ge=1000, le=96000, description="Hz the audio is resampled to")
    kind: Literal["mfcc", "log_mel"] = Field("mfcc", description="cepstra or log-mel spectra")
    n_mels: int = Field(40, ge=4, le=256, description="mel bands")
    n_mfcc: int = Field(13, ge=1, le=64, description="cepstral coefficients (kind = 'mfcc')")
    deltas: int = Field(2, ge=0, le=2, description="append 1st (and 2nd) time derivatives")
    window_ms: float = Field(25.0, gt=0, le=200, description="analysis window")
    hop_ms: float = Field(10.0, gt=0, le=100, description="frame step")
    trim_db: float | None = Field(
        None, gt=0, description="trim leading and trailing audio this far below the peak"
    )
    stack: int = Field(
        1, ge=1, le=8, description="join k consecutive frames into one, k times fewer frames"
    )
    normalise: Literal["utterance", "none"] = Field(
        "utterance", description="per-utterance mean and variance normalisation (CMVN)"
    )
    cache_dir: str | None = Field(
        None, description="directory for the features computed from the wavs (None: no cache)"
    )


def feature_settings(config: SpeechFeatureConfig) -> dict:
    """The settings that decide the features (what the cache is keyed by)."""
    return config.model_dump(include=set(SpeechFeatureConfig.model_fields) - {"cache_dir"})


def frame_sizes(config: SpeechFeatureConfig) -> tuple[int, int, int]:
    """(window, hop, FFT size) in samples."""
    window = round(config.window_ms * config.sample_rate / 1000)
    hop = max(1, round(config.hop_ms * config.sample_rate / 1000))
    return window, hop, 1 << (window - 1).bit_length()


def feature_size(config: SpeechFeatureConfig) -> int:
    """Features per frame: n_mfcc or n_mels, times 1 + deltas."""
    base = config.n_mfcc if config.kind == "mfcc" else config.n_mels
    return base * (1 + config.deltas) * config.stack


def features(audio: np.ndarray, config: SpeechFeatureConfig) -> np.ndarray:
    """The feature frames (T, F) float32 of mono ``audio`` at ``config.sample_rate``."""
    import librosa

    window, hop, n_fft = frame_sizes(config)
    if config.trim_db is not None:
        trimmed, _ = librosa.effects.trim(audio, top_db=config.trim_db, frame_length=n_fft,
                                          hop_length=hop)  # fmt: skip
        audio = trimmed if len(trimmed) >= window else audio
    if len(audio) < window:
        raise RnnlabError(
            f"{len(audio)} samples are fewer than one analysis window ({window} samples)"
        )
    mel = librosa.feature.melspectrogram(
        y=audio.astype(np.float32), sr=config.sample_rate, n_fft=n_fft, hop_length=hop,
        win_length=window, n_mels=config.n_mels, center=False, power=2.0,
    )  # fmt: skip  # (n_mels, T)
    log_mel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
    base = log_mel
    if config.kind == "mfcc":
        base = librosa.feature.mfcc(S=log_mel, n_mfcc=config.n_mfcc)  # (n_mfcc, T)
    parts = [base]
    for order in range(1, config.deltas + 1):
        parts.append(librosa.feature.delta(base, order=order, mode="nearest"))
    frames = np.concatenate(parts).T  # (T, F)
    if config.normalise == "utterance":
        frames = normalise_utterance(frames)
    if config.stack > 1:  # (T, F) -> (T // k, k F): frame t holds frames k t .. k t + k - 1
        T = max(1, len(frames) // config.stack) * config.stack
        frames = np.pad(frames, ((0, max(0, T - len(frames))), (0, 0)))[:T]
        frames = frames.reshape(T // config.stack, -1)
    return frames.astype(np.float32)


def normalise_utterance(frames: np.ndarray) -> np.ndarray:
    """Every feature of ``frames`` (T, F) shifted and scaled to mean 0 and s.d. 1 over time
    (a constant feature stays 0)."""
    mean = frames.mean(axis=0, keepdims=True)
    std = frames.std(axis=0, keepdims=True)
    return (frames - mean) / np.where(std > 1e-8, std, 1.0)


def cached_features(config: SpeechFeatureConfig, keys: list[str], compute) -> list[np.ndarray]:
    """The features of ``keys`` (one string per utterance: its file, or how it was made),
    ``compute(k)`` giving those of ``keys[k]``; read from and written to ``config.cache_dir``
    as one ``.npz`` per set of keys and settings, when a cache directory is given."""
    if config.cache_dir is None:
        return [compute(k) for k in range(len(keys))]
    digest = hashlib.sha256(
        json.dumps([feature_settings(config), keys], sort_keys=True).encode()
    ).hexdigest()[:20]
    path = Path(config.cache_dir) / f"features-{digest}.npz"
    if path.is_file():
        try:
            with np.load(path) as stored:
                frames, lengths = stored["frames"], stored["lengths"]
            bounds = np.concatenate([[0], np.cumsum(lengths)])
            return [frames[bounds[k] : bounds[k + 1]] for k in range(len(keys))]
        except (OSError, KeyError, ValueError):
            pass  # a damaged cache is recomputed
    found = [compute(k) for k in range(len(keys))]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, frames=np.concatenate(found),
                 lengths=np.array([len(f) for f in found], dtype=np.int64))  # fmt: skip
        partial.replace(path)
    except OSError as error:
        raise RnnlabError(f"cannot write the feature cache {path}: {error.strerror}") from None
    return found


def file_key(path: Path) -> str:
    """A cache key of a file: its resolved path, size and modification time."""
    status = path.stat()
    return f"{path.resolve()}:{status.st_size}:{status.st_mtime_ns}"


def spec_augment(
    frames: np.ndarray,
    rng: np.random.Generator,
    *,
    time_masks: int = 2,
    time_width: int = 8,
    feature_masks: int = 2,
    feature_width: int = 4,
    base_size: int | None = None,
) -> np.ndarray:
    """A copy of ``frames`` (T, F) with ``feature_masks`` bands of up to ``feature_width``
    features and ``time_masks`` runs of up to ``time_width`` frames (each width uniform from 0)
    set to 0, the mean after per-utterance normalisation. With ``base_size`` (the static
    features before their deltas), a masked band removes the same coefficients from every
    block of deltas."""
    masked = frames.copy()
    T, F = frames.shape
    width = base_size or F
    for _ in range(feature_masks):
        size = int(rng.integers(0, feature_width + 1))
        start = int(rng.integers(0, max(1, width - size + 1)))
        for block in range(0, F, width):
            masked[:, block + start : block + start + size] = 0.0
    for _ in range(time_masks):
        size = int(rng.integers(0, min(time_width, T // 4) + 1))
        start = int(rng.integers(0, max(1, T - size + 1)))
        masked[start : start + size] = 0.0
    return masked
