"""Isolated spoken digits: which digit 0-9 a recording says, read as feature frames.

The data is a directory of ``{digit}_{speaker}_{index}.wav`` files, such as the Free Spoken
Digit Dataset (FSDD: six speakers, 50 recordings of each digit by each, 8 kHz). Every file is
read (:mod:`rnnlab.tasks.audio`) and turned into feature frames (:mod:`rnnlab.tasks.
speech_features`: MFCCs or log-mel spectra with deltas, normalised per utterance) once, cached
in ``cache_dir`` when one is given. Two protocols:

- ``"leave_one_speaker_out"``: every recording of ``test_speaker`` is the test split, a voice
  the network never heard; the other speakers train. Six folds for FSDD.
- ``"speaker_dependent"``: the dataset's own split, recordings 0-4 of every speaker and digit
  are the test split; the same speakers train.

In both, the ``val_per_digit`` highest-numbered recordings of each training speaker and digit
(45-49 for FSDD) are the validation split, and the rest trains. (The dataset's own split trains
on 5-49; with validation it trains on 5-44.) ``augment_copies`` adds that many
SpecAugment-masked copies of every training utterance (:func:`rnnlab.tasks.speech_features.
spec_augment`, seeded by ``seed``): the masks are drawn once, not afresh every epoch.

The network reads the frames (vectors, with ``lengths``) and classifies each recording from
its final state. Metrics: ``accuracy`` and ``macro_f1``; ``rnnlab evaluate`` adds tables per
speaker and per digit, the confusion matrix and the baselines on the same split (a Gaussian HMM
per digit and DTW nearest neighbour, :mod:`rnnlab.evaluation.baselines.speech`).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field, model_validator
from torch.nn.utils.rnn import pad_sequence

from rnnlab.errors import RnnlabError
from rnnlab.tasks.audio import Recording, read_wav, scan_recordings
from rnnlab.tasks.base import Split, Task, seed_field
from rnnlab.tasks.names import scores
from rnnlab.tasks.speech_features import (
    SpeechFeatureConfig,
    cached_features,
    feature_size,
    features,
    file_key,
    frame_sizes,
    spec_augment,
)

DIGITS = [str(d) for d in range(10)]


class SpokenDigitsConfig(SpeechFeatureConfig):
    """``[task]`` of isolated spoken digits; the feature settings are
    :class:`~rnnlab.tasks.speech_features.SpeechFeatureConfig`'s."""

    name: Literal["spoken_digits"] = "spoken_digits"
    path: str = Field(description="directory of {digit}_{speaker}_{index}.wav files")
    protocol: Literal["leave_one_speaker_out", "speaker_dependent"] = Field(
        "leave_one_speaker_out", description="test on an unseen speaker, or on recordings 0-4"
    )
    test_speaker: str | None = Field(None, description="leave_one_speaker_out: the test voice")
    test_per_digit: int = Field(5, ge=1, description="speaker_dependent: recordings 0..k-1 test")
    val_per_digit: int = Field(
        5, ge=1, description="the last k recordings of each training speaker and digit validate"
    )
    augment_copies: int = Field(0, ge=0, le=20, description="SpecAugment copies per utterance")
    time_masks: int = Field(2, ge=0, description="SpecAugment: runs of frames masked")
    time_width: int = Field(8, ge=0, description="SpecAugment: longest run masked")
    feature_masks: int = Field(2, ge=0, description="SpecAugment: bands of features masked")
    feature_width: int = Field(3, ge=0, description="SpecAugment: widest band masked")
    seed: int = seed_field("seed of the augmentation masks; the training seed is separate")

    @model_validator(mode="after")
    def _check_protocol(self) -> "SpokenDigitsConfig":
        if self.protocol == "leave_one_speaker_out" and self.test_speaker is None:
            raise ValueError("protocol = 'leave_one_speaker_out' needs test_speaker")
        if self.protocol == "speaker_dependent" and self.test_speaker is not None:
            raise ValueError(
                f"test_speaker applies to leave_one_speaker_out; got protocol = "
                f"'speaker_dependent' with test_speaker = {self.test_speaker!r}"
            )
        return self


@dataclass(frozen=True)
class Utterances:
    """The recordings of one split and their feature frames."""

    recordings: list[Recording]
    frames: list[np.ndarray]  # (T_k, F) each

    @property
    def labels(self) -> np.ndarray:
        return np.array([r.label for r in self.recordings], dtype=np.int64)

    @property
    def speakers(self) -> list[str]:
        return [r.speaker for r in self.recordings]

    def split(self) -> Split:
        """The frames padded with zeros to (N, T, F), the digits (N,) and the lengths (N,)."""
        x = pad_sequence([torch.from_numpy(f) for f in self.frames], batch_first=True)
        lengths = torch.tensor([len(f) for f in self.frames], dtype=torch.long)
        return Split(x=x, y=torch.from_numpy(self.labels), lengths=lengths)


def recording_features(config: SpeechFeatureConfig, recordings: list[Recording]):
    """The feature frames of every recording (cached as ``config.cache_dir`` says)."""
    window = frame_sizes(config)[0]

    def compute(k: int) -> np.ndarray:
        path = recordings[k].path
        try:
            return features(read_wav(path, config.sample_rate, window), config)
        except RnnlabError as error:
            message = str(error)
            raise RnnlabError(message if str(path) in message else f"{path}: {message}") from None

    return cached_features(config, [file_key(r.path) for r in recordings], compute)


def assign_splits(recordings: list[Recording], config: SpokenDigitsConfig) -> list[str]:
    """The split ("train", "val" or "test") of every recording under ``config``'s protocol."""
    speakers = sorted({r.speaker for r in recordings})
    if config.protocol == "leave_one_speaker_out" and config.test_speaker not in speakers:
        raise RnnlabError(
            f"test_speaker {config.test_speaker!r} has no recordings in {config.path}; "
            f"speakers: {', '.join(speakers)}"
        )
    training = {}  # (speaker, digit) -> the indices of its training recordings, sorted
    assigned = []
    for r in recordings:
        if config.protocol == "leave_one_speaker_out":
            test = r.speaker == config.test_speaker
        else:
            test = r.index < config.test_per_digit
        assigned.append("test" if test else "train")
        if not test:
            training.setdefault((r.speaker, r.label), []).append(r.index)
    last = {key: sorted(indices)[-config.val_per_digit :] for key, indices in training.items()}
    for k, r in enumerate(recordings):
        if assigned[k] == "train" and r.index in last[(r.speaker, r.label)]:
            assigned[k] = "val"
    for name in ("train", "val", "test"):
        if name not in assigned:
            raise RnnlabError(
                f"{config.path}: the {config.protocol} protocol leaves no {name} data"
            )
    return assigned


class SpokenDigits(Task):
    """Classify isolated spoken digits; see the module docstring."""

    name = "spoken_digits"
    description = "isolated spoken digits from {digit}_{speaker}_{index}.wav (FSDD), by speaker"
    stream = False
    inputs = "vectors"
    targets = "per_sequence"
    loss = "cross_entropy"
    num_outputs = len(DIGITS)  # the network's outputs, known without reading the data

    def __init__(self, config: SpokenDigitsConfig) -> None:
        self.config = config
        self.classes = DIGITS
        recordings = scan_recordings(config.path)
        labels = sorted({r.label for r in recordings})
        if labels[-1] > 9:
            raise RnnlabError(f"{config.path}: labels must be digits 0-9; found {labels[-1]}")
        assigned = assign_splits(recordings, config)
        frames = recording_features(config, recordings)
        self.utterances = {
            name: Utterances(
                [r for r, s in zip(recordings, assigned) if s == name],
                [f for f, s in zip(frames, assigned) if s == name],
            )
            for name in ("train", "val", "test")
        }
        self.input_size = feature_size(config)
        self.output_size = self.num_outputs

    def training_utterances(self) -> Utterances:
        """The training split, with ``augment_copies`` masked copies of every utterance."""
        train = self.utterances["train"]
        config = self.config
        if config.augment_copies == 0:
            return train
        rng = np.random.default_rng(config.seed)
        base = config.n_mfcc if config.kind == "mfcc" else config.n_mels
        masked = [
            spec_augment(
                f,
                rng,
                time_masks=config.time_masks,
                time_width=config.time_width,
                feature_masks=config.feature_masks,
                feature_width=config.feature_width,
                base_size=base,
            )
            for _ in range(config.augment_copies)
            for f in train.frames
        ]
        return Utterances(train.recordings * (1 + config.augment_copies), train.frames + masked)

    def splits(self) -> dict[str, Split]:
        return {
            "train": self.training_utterances().split(),
            "val": self.utterances["val"].split(),
            "test": self.utterances["test"].split(),
        }

    def metrics(self, predictions: torch.Tensor, split: Split) -> dict[str, float]:
        return scores(split.y.numpy(), predictions.argmax(-1).numpy(), len(self.classes))

    def save(self, directory: Path) -> None:
        """Nothing: the config holds every feature setting, and the classes are the digits."""


def read_utterance(path: str | Path, config: SpeechFeatureConfig) -> np.ndarray:
    """The feature frames (T, F) of one WAV file under a task's feature settings."""
    window = frame_sizes(config)[0]
    audio = read_wav(path, config.sample_rate, window)
    try:
        return features(audio, config)
    except RnnlabError as error:
        raise RnnlabError(f"{path}: {error}") from None
