"""Speech features against a NumPy/SciPy computation of the same definition, normalisation,
the cache, and SpecAugment masking."""

import numpy as np
import pytest
from scipy.fft import dct
from scipy.signal import get_window

from rnnlab.tasks.speech_features import (
    SpeechFeatureConfig,
    cached_features,
    feature_size,
    features,
    frame_sizes,
    spec_augment,
)


def chirp(seconds: float = 0.5, rate: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * (200 * t + 2500 * t**2))).astype(np.float32)


def reference_log_mel(audio: np.ndarray, config: SpeechFeatureConfig) -> np.ndarray:
    """Frames of n_fft samples every hop, a periodic Hann window of ``window`` samples centred
    in them, |FFT|^2, the mel filterbank, 10 log10: (T, n_mels)."""
    import librosa  # only for the filterbank's weights

    window, hop, n_fft = frame_sizes(config)
    offset = (n_fft - window) // 2
    taper = np.zeros(n_fft)
    taper[offset : offset + window] = get_window("hann", window, fftbins=True)
    count = 1 + (len(audio) - n_fft) // hop
    frames = np.stack([audio[t * hop : t * hop + n_fft] * taper for t in range(count)])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (T, n_fft / 2 + 1)
    bank = librosa.filters.mel(sr=config.sample_rate, n_fft=n_fft, n_mels=config.n_mels)
    return 10 * np.log10(np.maximum(power @ bank.T, 1e-10))


def test_log_mel_and_mfcc_match_the_definition():
    audio = chirp()
    log_mel = SpeechFeatureConfig(kind="log_mel", deltas=0, normalise="none")
    mfcc = SpeechFeatureConfig(kind="mfcc", deltas=0, normalise="none", n_mfcc=13)
    expected = reference_log_mel(audio, log_mel)  # (T, 40)
    assert frame_sizes(log_mel) == (200, 80, 256)
    np.testing.assert_allclose(features(audio, log_mel), expected, rtol=1e-4, atol=2e-3)
    cepstra = dct(expected, type=2, norm="ortho", axis=1)[:, :13]
    np.testing.assert_allclose(features(audio, mfcc), cepstra, rtol=1e-4, atol=1e-2)


def test_deltas_append_the_slope_of_each_feature_and_cmvn_standardises():
    config = SpeechFeatureConfig(deltas=2, normalise="none")
    frames = features(chirp(), config)
    assert frames.shape[1] == feature_size(config) == 39
    static, delta = frames[:, :13], frames[:, 13:26]
    # librosa's delta is a 9-frame Savitzky-Golay slope: in the interior, the least-squares
    # slope of a line through the 9 frames around each
    k = np.arange(-4, 5)
    slope = np.array([k @ static[t - 4 : t + 5] / (k @ k) for t in range(4, len(static) - 4)])
    np.testing.assert_allclose(delta[4:-4], slope, rtol=1e-3, atol=1e-3)
    normalised = features(chirp(), SpeechFeatureConfig(deltas=2))
    np.testing.assert_allclose(normalised.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(normalised.std(0), 1, atol=1e-4)


def test_trimming_removes_leading_and_trailing_silence():
    audio = np.concatenate([np.zeros(4000, np.float32), chirp(), np.zeros(4000, np.float32)])
    untrimmed = features(audio, SpeechFeatureConfig(normalise="none"))
    trimmed = features(audio, SpeechFeatureConfig(normalise="none", trim_db=30.0))
    assert len(untrimmed) - len(trimmed) >= 90  # about 2 x 50 frames of silence go


def test_the_cache_is_read_back_and_keyed_by_the_settings(tmp_path):
    calls = []

    def compute(k):
        calls.append(k)
        return np.full((k + 2, 3), float(k), np.float32)

    config = SpeechFeatureConfig(cache_dir=str(tmp_path))
    first = cached_features(config, ["a", "b"], compute)
    again = cached_features(config, ["a", "b"], compute)
    assert calls == [0, 1]
    for f, g in zip(first, again):
        np.testing.assert_array_equal(f, g)
    cached_features(config.model_copy(update={"n_mfcc": 12}), ["a", "b"], compute)
    assert calls == [0, 1, 0, 1]  # other settings: computed again
    assert len(list(tmp_path.glob("features-*.npz"))) == 2


def test_spec_augment_masks_bands_in_every_delta_block_and_runs_of_frames():
    frames = np.ones((60, 39), np.float32)
    rng = np.random.default_rng(3)
    masked = spec_augment(frames, rng, time_masks=1, time_width=10, feature_masks=1,
                          feature_width=4, base_size=13)  # fmt: skip
    rows = (masked == 0).all(1)
    blocks = [(masked[~rows][:, b * 13 : (b + 1) * 13] == 0).all(0) for b in range(3)]
    assert (blocks[0] == blocks[1]).all() and (blocks[0] == blocks[2]).all()
    assert blocks[0].sum() <= 4 and rows.sum() <= 10
    assert (masked[~rows][:, ~np.tile(blocks[0], 3)] == 1).all()  # nothing else changed
    again = spec_augment(frames, np.random.default_rng(3), time_masks=1, time_width=10,
                         feature_masks=1, feature_width=4, base_size=13)  # fmt: skip
    np.testing.assert_array_equal(masked, again)


def test_a_signal_shorter_than_a_window_is_refused():
    from rnnlab.errors import RnnlabError

    with pytest.raises(RnnlabError, match="fewer than one analysis window"):
        features(np.zeros(100, np.float32), SpeechFeatureConfig())
