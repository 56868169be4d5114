"""Reading speech recordings: single WAV files and directories of
``{label}_{speaker}_{index}.wav`` files (the layout of the Free Spoken Digit Dataset).

:func:`read_wav` reads one file with ``scipy.io.wavfile``, mixes several channels down to mono
(their mean), scales integer samples to [-1, 1) and resamples to the rate asked for with
``scipy.signal.resample_poly`` (a polyphase filter, the rational factor reduced by the greatest
common divisor). What cannot be used is one :class:`~rnnlab.errors.RnnlabError` line naming
the file and why: not a WAV file, no samples, shorter than one analysis window, or a sample
format that is not 8/16/32-bit integer or 32/64-bit float.

:func:`scan_recordings` lists a directory of recordings by label, speaker and index, parsed
from the file names. Nothing is downloaded.
"""

import re
import warnings
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np

from rnnlab.errors import RnnlabError
from rnnlab.tasks.files import require_directory, require_file

RECORDING_NAME = re.compile(r"^(?P<label>\d+)_(?P<speaker>[A-Za-z0-9]+)_(?P<index>\d+)\.wav$")
"""``{label}_{speaker}_{index}.wav``: a digit label, a speaker name, a recording index."""

_SCALES = {np.dtype(np.uint8): 128.0, np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2.0**31}


def read_wav(path: str | Path, sample_rate: int, min_samples: int = 1) -> np.ndarray:
    """The samples of the WAV file ``path`` as float32 mono at ``sample_rate`` Hz, in [-1, 1].

    ``min_samples`` is the fewest samples (at ``sample_rate``) the caller can analyse, one
    analysis window: a shorter file is refused rather than padded."""
    from scipy.io import wavfile

    path = require_file(path, "audio file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # unknown chunks: harmless
            rate, samples = wavfile.read(path)
    except (ValueError, EOFError, OSError) as error:
        message = str(error).strip() or type(error).__name__
        raise RnnlabError(f"{path} is not a readable WAV file: {message}") from None
    if samples.dtype not in _SCALES and samples.dtype not in (np.float32, np.float64):
        raise RnnlabError(
            f"{path}: unsupported sample format {samples.dtype}; expected 8-, 16- or 32-bit "
            f"integer or 32/64-bit float samples"
        )
    if samples.size == 0:
        raise RnnlabError(f"{path} holds no samples (an empty recording)")
    audio = samples.astype(np.float64)
    if samples.dtype == np.uint8:
        audio -= 128.0
    audio /= _SCALES.get(samples.dtype, 1.0)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)  # (samples, channels) -> mono
    audio = resample(audio, int(rate), sample_rate)
    if len(audio) < min_samples:
        raise RnnlabError(
            f"{path} is too short: {len(audio)} samples at {sample_rate} Hz "
            f"({len(audio) / sample_rate * 1000:.1f} ms), fewer than one analysis window of "
            f"{min_samples} samples"
        )
    return audio.astype(np.float32)


def resample(audio: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """``audio`` at ``rate`` Hz resampled to ``target_rate`` Hz (``resample_poly``)."""
    if rate <= 0 or target_rate <= 0:
        raise RnnlabError(f"sample rates must be positive; got {rate} Hz -> {target_rate} Hz")
    if rate == target_rate:
        return audio
    from scipy.signal import resample_poly

    common = gcd(rate, target_rate)
    return resample_poly(audio, target_rate // common, rate // common)


@dataclass(frozen=True)
class Recording:
    """One file of a recordings directory and what its name says."""

    path: Path
    label: int
    speaker: str
    index: int


def scan_recordings(directory: str | Path) -> list[Recording]:
    """Every ``{label}_{speaker}_{index}.wav`` of ``directory``, sorted by speaker, label and
    index; a clear error if there are none (other files are ignored)."""
    directory = require_directory(directory, "recordings directory")
    found = []
    for path in directory.iterdir():
        match = RECORDING_NAME.match(path.name)
        if match:
            found.append(
                Recording(path, int(match["label"]), match["speaker"], int(match["index"]))
            )
    if not found:
        raise RnnlabError(
            f"{directory} holds no recordings named {{label}}_{{speaker}}_{{index}}.wav "
            f"(such as 7_theo_12.wav)"
        )
    return sorted(found, key=lambda r: (r.speaker, r.label, r.index))
