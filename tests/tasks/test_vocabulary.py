"""The character vocabulary: ids, unknowns, padding, saving and loading."""

import json

import pytest

from rnnlab.errors import RnnlabError
from rnnlab.tasks.vocabulary import PAD, UNKNOWN, Vocabulary


def test_ids_are_padding_unknown_then_sorted_characters():
    vocabulary = Vocabulary.from_texts(["cab", "bad"])
    assert vocabulary.symbols == [PAD, UNKNOWN, "a", "b", "c", "d"]
    assert vocabulary.encode("dab").tolist() == [5, 2, 3]
    assert vocabulary.decode([5, 2, 3, 0, 0]) == "dab"


def test_unseen_characters_read_as_unknown():
    vocabulary = Vocabulary.from_texts(["ab"])
    assert vocabulary.encode("axb").tolist() == [2, 1, 3]
    assert vocabulary.unknown_count("axyb") == 2
    assert vocabulary.decode([2, 1]) == "a\ufffd"


def test_save_and_load_round_trip_with_extra_entries(tmp_path):
    vocabulary = Vocabulary.from_texts(["Ślusarski", "Hinton"])
    vocabulary.save(tmp_path / "vocab.json", classes=["Polish", "English"])
    loaded, extra = Vocabulary.load(tmp_path / "vocab.json")
    assert loaded == vocabulary
    assert extra == {"classes": ["Polish", "English"]}


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not a vocabulary"), ('{"x": 1}', "not a vocabulary"),
     (json.dumps({"symbols": ["a", "b"]}), "starts with")],
)  # fmt: skip
def test_damaged_vocabulary_files_are_clear_errors(tmp_path, content, message):
    (tmp_path / "vocab.json").write_text(content)
    with pytest.raises(RnnlabError, match=message):
        Vocabulary.load(tmp_path / "vocab.json")


def test_missing_vocabulary_is_a_clear_error(tmp_path):
    with pytest.raises(RnnlabError, match="no saved vocabulary"):
        Vocabulary.load(tmp_path / "vocab.json")
