"""The demo learns what Elman's network learned (thresholds of the spec's §1.2 check)."""

import pytest

from rnnlab.demo import main, report, run_demo


def test_demo_learns_vowels_but_not_consonants():
    result = run_demo(steps=300, seed=0)
    assert result.vowel_error <= 0.30
    assert result.consonant_error >= 0.40
    assert result.consonant_bit_error <= 0.20  # it knows when a consonant comes
    text = report(result)
    assert "mean error on vowels" in text


def test_demo_refuses_a_bad_argument(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--steps", "0"])
    assert exit_info.value.code == 2
    assert "--steps must be >= 1; got 0" in capsys.readouterr().err
