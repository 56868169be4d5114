"""Tasks: seeded generators of stimulus streams and loaders of real data.

:data:`TASKS` maps each name to its config and task class; :func:`build_task` makes one.

Long-term-dependency benchmarks: :mod:`~rnnlab.tasks.latch` (Bengio et al. 1994),
:mod:`~rnnlab.tasks.two_sequence` and :mod:`~rnnlab.tasks.reber` (LSTM97 5.3, 5.1),
:mod:`~rnnlab.tasks.parity` (Bengio et al. 1994), :mod:`~rnnlab.tasks.adding` (LSTM97 5.4 and
the modern form) and :mod:`~rnnlab.tasks.copy_memory` (Arjovsky et al. 2016).

Dynamics to open up: :mod:`~rnnlab.tasks.flipflop`, the n-bit flip-flop of Sussillo & Barak
(2013), whose trained networks hold one attractor per memory state
(:mod:`rnnlab.analysis.fixed_points`).

Real text: :mod:`~rnnlab.tasks.names` (classify surnames by language, the PyTorch tutorial) and
:mod:`~rnnlab.tasks.char_lm` (character language model of a text file), both reading token ids
of a :class:`~rnnlab.tasks.vocabulary.Vocabulary`.

Sequence to sequence: :mod:`~rnnlab.tasks.translation` (sentence pairs, split by source
sentence, :class:`~rnnlab.tasks.word_vocabulary.WordVocabulary`), with a second corpus read
from the machine's gettext catalogues (:mod:`~rnnlab.tasks.gettext_corpus`).

Speech: :mod:`~rnnlab.tasks.audio` (WAV files, mono, resampling), :mod:`~rnnlab.tasks.
speech_features` (log-mel and MFCC with deltas, CMVN, a cache, SpecAugment),
:mod:`~rnnlab.tasks.spoken_digits` (isolated digits, leave-one-speaker-out) and
:mod:`~rnnlab.tasks.digit_strings` (connected digits under CTC).

Time series: :mod:`~rnnlab.tasks.time_series` (statsmodels' series and CSV files, the scaler)
and :mod:`~rnnlab.tasks.forecasting` (direct and recursive forecasts, Gaussian intervals,
rolling-origin backtests).

Cognitive tasks of computational neuroscience, trials with named periods, a loss mask on the
fixation and decision periods and per-trial conditions (:mod:`~rnnlab.tasks.trials`):
:mod:`~rnnlab.tasks.perceptual_decision` (random dots, Song et al. 2016),
:mod:`~rnnlab.tasks.context_decision` (Mante et al. 2013),
:mod:`~rnnlab.tasks.working_memory` (Romo et al. 1999) and
:mod:`~rnnlab.tasks.match_to_sample` (delayed match-to-sample, NeuroGym).

Brain activity: :mod:`~rnnlab.tasks.bold_responses` (voxel responses to feature sequences,
Güçlü & van Gerven 2017) on simulated fMRI (:mod:`~rnnlab.tasks.bold_simulation`, with the
balloon-Windkessel haemodynamics of :mod:`~rnnlab.tasks.balloon`) or on a user's own runs in
``.npz`` files.
"""

from rnnlab.losses import masked_loss, per_sequence_loss, predictions_from_outputs
from rnnlab.tasks import (
    adding,
    audio,
    balloon,
    bold_responses,
    bold_simulation,
    char_lm,
    context_decision,
    copy_memory,
    digit_strings,
    flipflop,
    forecasting,
    gettext_corpus,
    latch,
    letter_sequences,
    match_to_sample,
    names,
    parity,
    perceptual_decision,
    reber,
    speech_features,
    spoken_digits,
    temporal_xor,
    time_series,
    translation,
    trials,
    two_sequence,
    working_memory,
)
from rnnlab.tasks.base import Split, Task, check_split, checked_splits
from rnnlab.tasks.registry import TASKS, TaskConfig, build_task
from rnnlab.tasks.vocabulary import Vocabulary
from rnnlab.tasks.word_vocabulary import WordVocabulary

__all__ = [
    "TASKS",
    "Split",
    "Task",
    "TaskConfig",
    "Vocabulary",
    "WordVocabulary",
    "adding",
    "audio",
    "balloon",
    "bold_responses",
    "bold_simulation",
    "build_task",
    "char_lm",
    "check_split",
    "checked_splits",
    "context_decision",
    "copy_memory",
    "digit_strings",
    "flipflop",
    "forecasting",
    "gettext_corpus",
    "latch",
    "letter_sequences",
    "masked_loss",
    "match_to_sample",
    "names",
    "parity",
    "per_sequence_loss",
    "perceptual_decision",
    "predictions_from_outputs",
    "reber",
    "speech_features",
    "spoken_digits",
    "temporal_xor",
    "time_series",
    "translation",
    "trials",
    "two_sequence",
    "working_memory",
]
