"""Generated recordings for the speech tests: a directory of ``{digit}_{speaker}_{index}.wav``
files in which each digit is a chord of two tones and each speaker shifts its pitch, so that
the tests never depend on the shared data being present."""

from pathlib import Path

import numpy as np
from scipy.io import wavfile

RATE = 8000
FSDD = Path(__file__).resolve().parents[3] / "shared/data/fsdd/recordings"


def tone(digit: int, speaker: int, index: int, seconds: float = 0.25) -> np.ndarray:
    """A recording of ``digit`` by speaker number ``speaker``: int16 samples at 8 kHz."""
    rng = np.random.default_rng(1000 * speaker + 10 * digit + index)
    t = np.arange(int(seconds * RATE * (1 + 0.1 * rng.random()))) / RATE
    shift = 1 + 0.06 * speaker
    signal = np.sin(2 * np.pi * 300 * (1 + digit / 4) * shift * t)
    signal += 0.5 * np.sin(2 * np.pi * 2100 * (1 + digit / 12) * shift * t)
    signal *= np.hanning(len(t)) * 0.5
    signal += 0.002 * rng.standard_normal(len(t))
    return (signal * 20000).astype(np.int16)


def write_recordings(
    directory: Path, speakers=("anna", "bert", "cleo"), per_digit: int = 6
) -> Path:
    """Recordings of every digit ``per_digit`` times by each speaker, into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for s, speaker in enumerate(speakers):
        for digit in range(10):
            for index in range(per_digit):
                wavfile.write(directory / f"{digit}_{speaker}_{index}.wav", RATE,
                              tone(digit, s, index))  # fmt: skip
    return directory
