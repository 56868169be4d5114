"""Reading WAV files: formats, mono mix-down, resampling, and one clear error for each file that
cannot be used; listing a recordings directory."""

import numpy as np
import pytest
from scipy.io import wavfile

from rnnlab.errors import RnnlabError
from rnnlab.tasks.audio import read_wav, scan_recordings


def test_stereo_16_khz_becomes_the_mono_mean_at_8_khz(tmp_path):
    t16 = np.arange(16000) / 16000
    left, right = np.sin(2 * np.pi * 440 * t16), 0.5 * np.sin(2 * np.pi * 440 * t16)
    stereo = (np.stack([left, right], 1) * 16384).astype(np.int16)  # (samples, channels)
    wavfile.write(tmp_path / "a.wav", 16000, stereo)
    audio = read_wav(tmp_path / "a.wav", 8000)
    t8 = np.arange(8000) / 8000
    expected = 0.75 * np.sin(2 * np.pi * 440 * t8) * 16384 / 32768  # the mean, sampled at 8 kHz
    assert audio.dtype == np.float32 and audio.shape == (8000,)
    # the polyphase filter's edges aside, the 8 kHz signal is the tone sampled at 8 kHz
    np.testing.assert_allclose(audio[200:-200], expected[200:-200], atol=2e-3)


@pytest.mark.parametrize(
    "samples, expected",
    [
        (np.array([0, 128, 255], dtype=np.uint8), [-1.0, 0.0, 127 / 128]),
        (np.array([-32768, 0, 16384], dtype=np.int16), [-1.0, 0.0, 0.5]),
        (np.array([-(2**31), 0, 2**30], dtype=np.int32), [-1.0, 0.0, 0.5]),
        (np.array([-0.25, 0.0, 0.75], dtype=np.float32), [-0.25, 0.0, 0.75]),
    ],
    ids=["uint8", "int16", "int32", "float32"],
)
def test_sample_formats_scale_to_minus_one_one(tmp_path, samples, expected):
    wavfile.write(tmp_path / "a.wav", 8000, samples)
    np.testing.assert_allclose(read_wav(tmp_path / "a.wav", 8000), expected, atol=1e-7)


def _text(path):
    path.write_text("not audio at all")


def _empty(path):
    wavfile.write(path, 8000, np.zeros(0, np.int16))


def _short(path):
    wavfile.write(path, 8000, np.zeros(50, np.int16))


def _int64(path):
    wavfile.write(path, 8000, np.zeros(500, np.int64))


@pytest.mark.parametrize(
    "make, message",
    [
        (_text, "is not a readable WAV file"),
        (_empty, "holds no samples"),
        (_short, "too short: 50 samples at 8000 Hz"),
        (_int64, "unsupported sample format int64"),
    ],
    ids=["not-a-wav", "empty", "shorter-than-a-window", "int64"],
)
def test_what_cannot_be_read_is_one_clear_line(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(RnnlabError, match=message) as error:
        read_wav(path, 8000, min_samples=200)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(RnnlabError, match="does not exist"):
        read_wav(tmp_path / "none.wav", 8000)


def test_scan_reads_label_speaker_index_and_ignores_other_files(tmp_path):
    for name in ("3_anna_12.wav", "0_bert_0.wav", "README.md", "x_anna_1.wav", "3_anna_2.wav"):
        (tmp_path / name).write_bytes(b"")
    found = scan_recordings(tmp_path)
    assert [(r.label, r.speaker, r.index) for r in found] == [
        (3, "anna", 2), (3, "anna", 12), (0, "bert", 0),
    ]  # fmt: skip
    (tmp_path / "empty").mkdir()
    with pytest.raises(RnnlabError, match=r"holds no recordings named \{label\}"):
        scan_recordings(tmp_path / "empty")
