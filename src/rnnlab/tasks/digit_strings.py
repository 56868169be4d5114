"""Connected digits: strings of 1-5 spoken digits, made by joining recordings of one speaker,
transcribed frame by frame under CTC.

Each string is drawn (seeded by ``seed``): a speaker, a length uniform in ``min_digits`` ..
``max_digits``, digits uniform in 0-9, and for each digit one recording of that speaker saying
it. The recordings (trimmed as ``trim_db`` says) are joined with gaps of silence uniform in 0 ..
``gap_ms`` (before, between and after), and white noise ``noise_db`` decibels below the
string's RMS level is added. The features of the whole string are computed as for isolated
digits (:mod:`rnnlab.tasks.speech_features`, cached in ``cache_dir``).

The splits keep recordings apart:

- ``train``: strings of the training speakers (every speaker but ``test_speaker``) from their
  recordings except the ``held_out_per_digit`` highest-numbered of each digit;
- ``val``: strings of the training speakers from only those held-out recordings, the *seen*
  speakers' unheard recordings (``digit_error_rate_seen`` of ``rnnlab evaluate``);
- ``test``: strings of ``test_speaker``, a voice never heard.

Targets are ``"transcript"``: y (N, S) the digits + 1 (0 is CTC's blank), padded with 0;
``mask`` (N, T) the valid frames; loss ``"ctc"`` (:func:`rnnlab.losses.ctc_loss`). A string
whose frames are too few for its digits (fewer than digits plus repeated neighbours) cannot be
aligned: it is left out of its split and counted in :attr:`DigitStrings.unalignable`.
Decoding and the digit error rate are :mod:`rnnlab.evaluation.digit_strings`'.
"""

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field
from torch.nn.utils.rnn import pad_sequence

from rnnlab.errors import RnnlabError
from rnnlab.tasks.audio import Recording, read_wav, scan_recordings
from rnnlab.tasks.base import Split, Task, seed_field
from rnnlab.tasks.speech_features import (
    SpeechFeatureConfig,
    cached_features,
    feature_settings,
    feature_size,
    features,
    file_key,
    frame_sizes,
)

BLANK = 0


class DigitStringsConfig(SpeechFeatureConfig):
    """``[task]`` of connected digits under CTC; the feature settings are
    :class:`~rnnlab.tasks.speech_features.SpeechFeatureConfig`'s."""

    name: Literal["digit_strings"] = "digit_strings"
    path: str = Field(description="directory of {digit}_{speaker}_{index}.wav files")
    test_speaker: str = Field(description="the held-out voice of the test strings")
    train_strings: int = Field(3000, ge=1, description="training strings")
    val_strings: int = Field(300, ge=1, description="strings of held-out recordings, seen voices")
    test_strings: int = Field(500, ge=1, description="strings of the held-out speaker")
    min_digits: int = Field(1, ge=1, description="fewest digits in a string")
    max_digits: int = Field(5, ge=1, le=20, description="most digits in a string")
    gap_ms: float = Field(100.0, ge=0, description="longest silence before, between, after")
    noise_db: float = Field(-40.0, le=0, description="white noise level under the speech RMS")
    held_out_per_digit: int = Field(
        5, ge=1, description="the last k recordings of each seen speaker and digit: val only"
    )
    seed: int = seed_field("seed of the strings (speakers, digits, recordings, gaps, noise)")


@dataclass(frozen=True)
class SpokenString:
    """How one string was made: its speaker, digits, recordings and gaps (in samples)."""

    speaker: str
    digits: tuple[int, ...]
    recordings: tuple[Recording, ...]
    gaps: tuple[int, ...]  # len(digits) + 1
    noise_seed: int

    def key(self) -> str:
        parts = [file_key(r.path) for r in self.recordings]
        return f"{self.digits}|{parts}|{self.gaps}|{self.noise_seed}"


def draw_strings(
    pools: dict[str, dict[int, list[Recording]]],
    count: int,
    config: DigitStringsConfig,
    rng: np.random.Generator,
) -> list[SpokenString]:
    """``count`` strings from ``pools`` (speaker -> digit -> recordings)."""
    speakers = sorted(pools)
    gap = round(config.gap_ms * config.sample_rate / 1000)
    drawn = []
    for _ in range(count):
        speaker = speakers[int(rng.integers(len(speakers)))]
        length = int(rng.integers(config.min_digits, config.max_digits + 1))
        digits = tuple(int(d) for d in rng.integers(0, 10, length))
        recordings = []
        for d in digits:
            pool = pools[speaker].get(d)
            if not pool:
                raise RnnlabError(f"{config.path}: speaker {speaker!r} has no recording of {d}")
            recordings.append(pool[int(rng.integers(len(pool)))])
        gaps = tuple(int(g) for g in rng.integers(0, gap + 1, length + 1))
        drawn.append(SpokenString(speaker, digits, tuple(recordings), gaps,
                                  int(rng.integers(2**31))))  # fmt: skip
    return drawn


def string_audio(string: SpokenString, config: SpeechFeatureConfig, noise_db: float):
    """The samples of a string: its recordings (trimmed), the gaps, the noise."""
    import librosa

    window, hop, n_fft = frame_sizes(config)
    parts = [np.zeros(string.gaps[0], np.float32)]
    for recording, gap in zip(string.recordings, string.gaps[1:]):
        audio = read_wav(recording.path, config.sample_rate, window)
        if config.trim_db is not None:
            trimmed, _ = librosa.effects.trim(audio, top_db=config.trim_db, frame_length=n_fft,
                                              hop_length=hop)  # fmt: skip
            audio = trimmed if len(trimmed) >= window else audio
        parts += [audio, np.zeros(gap, np.float32)]
    audio = np.concatenate(parts)
    rms = float(np.sqrt(np.mean(audio**2))) or 1e-4
    noise = np.random.default_rng(string.noise_seed).standard_normal(len(audio))
    return (audio + rms * 10 ** (noise_db / 20) * noise).astype(np.float32)


def alignable(length: int, labels) -> bool:
    """Whether ``length`` frames can spell ``labels`` under CTC: one frame per label, and one
    more (a blank) between two equal neighbours."""
    repeats = sum(a == b for a, b in pairwise(labels))
    return length >= len(labels) + repeats


class DigitStrings(Task):
    """Connected spoken digits under CTC; see the module docstring."""

    name = "digit_strings"
    description = "connected digits joined from {digit}_{speaker}_{index}.wav, CTC (FSDD)"
    stream = False
    inputs = "vectors"
    targets = "transcript"
    loss = "ctc"
    num_outputs = 11  # the blank and ten digits

    def __init__(self, config: DigitStringsConfig) -> None:
        if config.min_digits > config.max_digits:
            raise RnnlabError(
                f"min_digits must be at most max_digits; got {config.min_digits} > "
                f"{config.max_digits}"
            )
        self.config = config
        recordings = scan_recordings(config.path)
        speakers = sorted({r.speaker for r in recordings})
        if config.test_speaker not in speakers:
            raise RnnlabError(
                f"test_speaker {config.test_speaker!r} has no recordings in {config.path}; "
                f"speakers: {', '.join(speakers)}"
            )
        pools = {"train": {}, "val": {}, "test": {}}
        by_voice: dict[tuple[str, int], list[Recording]] = {}
        for r in recordings:
            by_voice.setdefault((r.speaker, r.label), []).append(r)
        for (speaker, digit), found in sorted(by_voice.items()):
            found = sorted(found, key=lambda r: r.index)
            if speaker == config.test_speaker:
                pools["test"].setdefault(speaker, {})[digit] = found
                continue
            k = config.held_out_per_digit
            if len(found) <= k:
                raise RnnlabError(
                    f"{config.path}: speaker {speaker!r} has {len(found)} recordings of "
                    f"{digit}, too few to hold out {k}"
                )
            pools["train"].setdefault(speaker, {})[digit] = found[:-k]
            pools["val"].setdefault(speaker, {})[digit] = found[-k:]
        rng = np.random.default_rng(config.seed)
        counts = {"train": config.train_strings, "val": config.val_strings,
                  "test": config.test_strings}  # fmt: skip
        self.strings: dict[str, list[SpokenString]] = {}
        self.frames: dict[str, list[np.ndarray]] = {}
        self.unalignable: dict[str, int] = {}
        for split in ("train", "val", "test"):
            strings = draw_strings(pools[split], counts[split], config, rng)
            frames = cached_features(
                config, [f"{s.key()}|{config.noise_db}" for s in strings],
                lambda k, s=strings: features(string_audio(s[k], config, config.noise_db), config),
            )  # fmt: skip
            keep = [alignable(len(f), s.digits) for s, f in zip(strings, frames)]
            self.unalignable[split] = keep.count(False)
            self.strings[split] = [s for s, k in zip(strings, keep) if k]
            self.frames[split] = [f for f, k in zip(frames, keep) if k]
        self.input_size = feature_size(config)
        self.output_size = self.num_outputs
        self.settings = feature_settings(config)

    def references(self, split: str) -> list[list[int]]:
        """The digit strings of a split, as CTC labels (digit + 1)."""
        return [[d + 1 for d in s.digits] for s in self.strings[split]]

    def splits(self) -> dict[str, Split]:
        if not hasattr(self, "_splits"):
            self._splits = self._make_splits()
        return self._splits

    def _make_splits(self) -> dict[str, Split]:
        result = {}
        for split in ("train", "val", "test"):
            frames = [torch.from_numpy(f) for f in self.frames[split]]
            x = pad_sequence(frames, batch_first=True)  # (N, T, F)
            lengths = torch.tensor([len(f) for f in frames], dtype=torch.long)
            mask = torch.arange(x.shape[1])[None, :] < lengths[:, None]  # (N, T)
            labels = [torch.tensor(r, dtype=torch.long) for r in self.references(split)]
            y = pad_sequence(labels, batch_first=True, padding_value=BLANK)  # (N, S)
            result[split] = Split(x=x, y=y, mask=mask, lengths=lengths)
        return result

    def save(self, directory: Path) -> None:
        """Nothing: the config holds every feature setting."""
