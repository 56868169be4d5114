"""The speech commands as a user meets them, on generated recordings: train the examples
briefly, evaluate as JSON (accuracy and the baselines; the CTC error rates), predict the top
digits of a WAV file, transcribe one, and the mistakes they report."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from scipy.io import wavfile

from rnnlab.cli import main
from tests.tasks.speech_data import RATE, tone, write_recordings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SMALL = ["model.hidden_size=8", "model.num_layers=1", "model.dropout=0.0", "training.batch_size=16"]


def rnnlab(*args) -> tuple[int, str, str]:
    """Run the command line in this process: (status, stdout, stderr)."""
    runner = CliRunner()
    with runner.isolation() as (stdout, stderr, _):
        try:
            main([str(a) for a in args])
            status = 0
        except SystemExit as done:
            status = 0 if done.code is None else done.code
        return status, stdout.getvalue().decode(), stderr.getvalue().decode()


def train(example: str, out: Path, overrides: list[str]) -> Path:
    sets = [part for o in SMALL + overrides for part in ("--set", o)]
    status, _, stderr = rnnlab("train", EXAMPLES / example, "--out", out, "--quiet", *sets)
    assert status == 0, stderr
    return out


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    return write_recordings(tmp_path_factory.mktemp("speech") / "recordings")


@pytest.fixture(scope="module")
def digits_run(recordings):
    return train("spoken_digits.toml", recordings.parent / "digits", [
        f"task.path='{recordings}'", "task.test_speaker=cleo", "task.val_per_digit=2",
        f"task.cache_dir='{recordings.parent / 'cache'}'", "training.max_steps=40",
        "training.eval_every=40",
    ])  # fmt: skip


def test_spoken_digits_evaluate_json_has_accuracy_tables_and_baselines(digits_run):
    status, stdout, stderr = rnnlab("evaluate", digits_run, "--split", "test", "--json")
    assert status == 0, stderr
    metrics = json.loads(stdout)
    assert 0 <= metrics["accuracy"] <= 1
    assert list(metrics["per_speaker"]) == ["cleo"] and metrics["per_speaker"]["cleo"]["n"] == 60
    assert sum(sum(row) for row in metrics["confusion_matrix"]) == 60
    assert set(metrics["baselines"]) == {"gaussian_hmm_5_states", "dtw_1nn"}
    assert Path(metrics["confusion_matrix_png"]).is_file()


def test_predict_prints_the_top_three_digits_of_a_wav(digits_run, tmp_path):
    path = tmp_path / "new.wav"
    wavfile.write(path, RATE, tone(4, 2, 99))
    status, stdout, stderr = rnnlab("predict", digits_run, path)
    assert status == 0, stderr
    found = re.fullmatch(rf"{re.escape(str(path))}: (\d) (\S+), (\d) (\S+), (\d) (\S+)\n", stdout)
    assert found, stdout
    probabilities = [float(found[k]) for k in (2, 4, 6)]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1.01


def test_transcribe_writes_the_digit_string_of_a_ctc_run(recordings, tmp_path):
    run = train("digit_strings.toml", tmp_path / "ctc", [
        f"task.path='{recordings}'", "task.test_speaker=cleo", "task.held_out_per_digit=2",
        "task.train_strings=32", "task.val_strings=8", "task.test_strings=8",
        f"task.cache_dir='{tmp_path / 'cache'}'", "training.max_steps=4", "training.eval_every=4",
    ])  # fmt: skip
    status, stdout, stderr = rnnlab("evaluate", run, "--split", "test", "--json")
    assert status == 0, stderr
    metrics = json.loads(stdout)
    assert metrics["digit_error_rate"] >= 0 and metrics["digit_error_rate_seen"] >= 0
    assert 0 <= metrics["string_accuracy"] <= 1
    assert metrics["unalignable_test"] == 0
    path = tmp_path / "string.wav"
    wavfile.write(path, RATE, tone(3, 2, 7))
    status, stdout, stderr = rnnlab("transcribe", run, path, "--beam", "4")
    assert status == 0, stderr
    assert re.fullmatch(rf"{re.escape(str(path))}: \d*\n", stdout), stdout


def test_mistakes_are_one_line_errors(digits_run, tmp_path):
    (tmp_path / "text.wav").write_text("hello")
    status, _, stderr = rnnlab("predict", digits_run, tmp_path / "text.wav")
    assert status == 2 and "is not a readable WAV file" in stderr and stderr.count("\n") == 1
    status, _, stderr = rnnlab("transcribe", digits_run, tmp_path / "text.wav")
    assert status == 2 and "needs a run of task 'digit_strings'" in stderr
