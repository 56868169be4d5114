import pytest
import torch

from rnnlab.tasks.letter_sequences import encode, letter_stream


def test_stream_is_syllables_and_seeded():
    stream = letter_stream(200, torch.Generator().manual_seed(3))
    assert stream == letter_stream(200, torch.Generator().manual_seed(3))
    assert stream != letter_stream(200, torch.Generator().manual_seed(4))
    rest = stream
    count = 0
    while rest:
        syllable = {"b": "ba", "d": "dii", "g": "guuu"}[rest[0]]
        assert rest.startswith(syllable)
        rest = rest[len(syllable) :]
        count += 1
    assert count == 200


def test_encode_uses_table_1():
    x = encode("dii")
    assert x.tolist() == [[1, 0, 1, 1, 0, 1], [0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 1]]
    with pytest.raises(ValueError, match="drawn from 'bdgaiu'; got \\['x'\\]"):
        encode("bax")
