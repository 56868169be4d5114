"""Isolated spoken digits and connected digit strings on generated recordings: the protocols'
splits keep speakers and recordings apart, config mistakes are clear, augmentation, and the
strings are made of the right recordings."""

import numpy as np
import pytest
import torch

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.tasks.base import checked_splits
from rnnlab.tasks.digit_strings import DigitStrings, DigitStringsConfig
from rnnlab.tasks.spoken_digits import SpokenDigits, SpokenDigitsConfig
from rnnlab.train.config import parse_config
from tests.tasks.speech_data import write_recordings


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    return write_recordings(tmp_path_factory.mktemp("recordings"))


@pytest.fixture(scope="module")
def loso(recordings, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    config = SpokenDigitsConfig(path=str(recordings), test_speaker="cleo", val_per_digit=2,
                                cache_dir=str(cache))  # fmt: skip
    return SpokenDigits(config)


def keys(utterances):
    return {(r.speaker, r.label, r.index) for r in utterances.recordings}


def test_leave_one_speaker_out_tests_only_the_held_out_voice(loso):
    train, val, test = (loso.utterances[s] for s in ("train", "val", "test"))
    assert set(test.speakers) == {"cleo"} and len(test.recordings) == 60
    assert set(train.speakers) == set(val.speakers) == {"anna", "bert"}
    assert {r.index for r in val.recordings} == {4, 5}  # the last 2 of each speaker and digit
    assert {r.index for r in train.recordings} == {0, 1, 2, 3}
    assert not (keys(train) & keys(val)) and not (keys(train) & keys(test))
    splits = checked_splits(loso)
    assert splits["train"].x.shape[2] == loso.input_size == 39
    lengths = splits["test"].lengths
    assert (splits["test"].x[0, lengths[0] :] == 0).all()  # padding after each utterance
    assert torch.equal(splits["test"].y, torch.from_numpy(loso.utterances["test"].labels))


def test_speaker_dependent_tests_the_first_recordings_of_every_speaker(recordings):
    config = SpokenDigitsConfig(path=str(recordings), protocol="speaker_dependent",
                                test_per_digit=2, val_per_digit=1)  # fmt: skip
    task = SpokenDigits(config)
    assert {r.index for r in task.utterances["test"].recordings} == {0, 1}
    assert {r.index for r in task.utterances["val"].recordings} == {5}
    assert set(task.utterances["test"].speakers) == {"anna", "bert", "cleo"}


def test_augmented_copies_are_masked_versions_of_the_training_utterances(loso, recordings):
    config = loso.config.model_copy(update={"augment_copies": 2})
    task = SpokenDigits(config)
    train = task.splits()["train"]
    n = len(task.utterances["train"].recordings)
    assert train.x.shape[0] == 3 * n
    assert torch.equal(train.y[:n], train.y[n : 2 * n])
    original, copy = train.x[:n], train.x[n : 2 * n]
    zeroed = (copy == 0) & (original != 0)
    assert zeroed.any() and torch.equal(torch.where(zeroed, 0, original), copy)
    again = SpokenDigits(config).splits()["train"]
    assert torch.equal(train.x, again.x)  # seeded


@pytest.mark.parametrize(
    "task, message",
    [
        ({"name": "spoken_digits", "path": "x"}, "needs test_speaker"),
        ({"name": "spoken_digits", "path": "x", "protocol": "speaker_dependent",
          "test_speaker": "theo"}, "test_speaker applies to leave_one_speaker_out"),
        ({"name": "spoken_digits", "path": "x", "test_speaker": "t", "n_mfc": 13},
         "unknown key 'n_mfc'"),
    ],
)  # fmt: skip
def test_config_mistakes_are_named(task, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"model": {"kind": "gru", "hidden_size": 4}, "task": task})


def test_an_unknown_test_speaker_lists_the_speakers(recordings):
    config = SpokenDigitsConfig(path=str(recordings), test_speaker="zoe")
    with pytest.raises(RnnlabError, match="speakers: anna, bert, cleo"):
        SpokenDigits(config)


def test_digit_strings_join_recordings_of_one_speaker_and_keep_recordings_apart(recordings):
    config = DigitStringsConfig(path=str(recordings), test_speaker="cleo", train_strings=40,
                                val_strings=10, test_strings=10, held_out_per_digit=2,
                                trim_db=30.0)  # fmt: skip
    task = DigitStrings(config)
    for split, speakers, indices in [("train", {"anna", "bert"}, {0, 1, 2, 3}),
                                     ("val", {"anna", "bert"}, {4, 5}),
                                     ("test", {"cleo"}, set(range(6)))]:  # fmt: skip
        for string in task.strings[split]:
            assert {r.speaker for r in string.recordings} == {string.speaker} <= speakers
            assert {r.index for r in string.recordings} <= indices
            assert [r.label for r in string.recordings] == list(string.digits)
            assert 1 <= len(string.digits) <= 5
    splits = checked_splits(task)
    test = splits["test"]
    assert test.y.shape[1] == max(len(s.digits) for s in task.strings["test"])
    first = task.strings["test"][0].digits
    assert test.y[0, : len(first)].tolist() == [d + 1 for d in first]  # 0 is the blank
    assert (test.y[0, len(first) :] == 0).all()
    assert torch.equal(test.mask.sum(1), test.lengths)
    assert task.unalignable == {"train": 0, "val": 0, "test": 0}
    again = DigitStrings(config)
    assert [s.key() for s in again.strings["train"]] == [s.key() for s in task.strings["train"]]
    np.testing.assert_array_equal(again.frames["val"][0], task.frames["val"][0])
