"""Properties of the command line (rnnlab.cli.main): whatever arguments it is given, it exits
with status 0 (help, list) or 2 (a usage mistake, printed as one ``error:`` line), and never
prints a traceback.

Only commands that answer bad input at once are tried: random run directories and files do not
exist, and a training on an example config always ends in ``--set training.max_steps=0``,
which the config refuses, so no training starts. ``--debug`` (tracebacks on purpose) and
``bench`` (a benchmark) are left out. Each example runs in an empty temporary directory.

Each property runs with the "ci" profile's few examples and, marked slow, with the "slow"
profile's many (tests/conftest.py).
"""

import contextlib
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rnnlab.catalog import EXPERIMENTS
from rnnlab.cli import main

SLOW = settings.get_profile("slow")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
COMMANDS = ["list", "train", "resume", "evaluate", "predict", "generate", "translate",
            "forecast", "replicate"]  # fmt: skip
OPTIONS = ["--set", "--out", "--device", "--quiet", "--split", "--json", "--checkpoint",
           "--no-baselines", "--top", "--ensemble", "--prime", "--length", "--temperature",
           "--top-k", "--seed", "--beam", "--alpha", "--attention", "--horizon", "--png",
           "--seeds", "--quick", "-h", "--help", "--", "-"]  # fmt: skip
VALUES = ["cpu", "cuda", "val", "test", "0", "1", "-1", "nan", "inf", "1e9", "", " ",
          "training.lr=0.1", "model.kind=gru", "task.name=x", "a.b.c=1", "="]  # fmt: skip
REFUSED = "training.max_steps=0"  # the config's max_steps is >= 1

# Arguments as a shell passes them: any text but NUL (surrogates are left out by st.text).
text = st.text(st.characters(exclude_characters="\x00"), max_size=12)
tokens = st.one_of(st.sampled_from(OPTIONS), st.sampled_from(VALUES), text)


def run(argv: list[str]) -> tuple[int, str, str]:
    """``rnnlab argv`` in an empty temporary directory: exit status, stdout and stderr."""
    with tempfile.TemporaryDirectory() as directory, contextlib.chdir(directory):
        with CliRunner().isolation() as (stdout, stderr, _):
            try:
                main(argv)
                status = 0
            except SystemExit as done:
                status = 0 if done.code is None else done.code
        assert not any(Path(directory).iterdir()), "a command wrote files"
        return status, stdout.getvalue().decode(), stderr.getvalue().decode()


def check(argv: list[str]) -> None:
    """The property: status 0 or 2, no traceback, and a status 2 explained on stderr."""
    assume(not set(argv) & {"--debug", *EXPERIMENTS})
    status, stdout, stderr = run(argv)
    assert status in (0, 2), (status, stdout, stderr)
    assert "Traceback" not in stdout + stderr
    if status == 2:
        assert stderr.startswith("error: "), stderr


@given(st.sampled_from(COMMANDS), st.lists(tokens, max_size=6))
def test_any_arguments_exit_0_or_2_without_a_traceback(command, arguments):
    check([command, *arguments])


@given(st.lists(tokens, max_size=4))
def test_any_arguments_to_the_group_exit_0_or_2_without_a_traceback(arguments):
    check(arguments)


train_arguments = st.lists(st.one_of(st.just("--set"), st.sampled_from(VALUES), text), max_size=6)


@given(st.sampled_from(sorted(EXAMPLES.glob("*.toml"))), train_arguments)
def test_train_with_any_overrides_exits_2_before_training(config, arguments):
    check(["train", str(config), *arguments, "--set", REFUSED])


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "a" * 300],
        ["resume", "a" * 300],
        ["evaluate", "a" * 300, "b"],
        ["predict", "a" * 300, "Hinton"],
        ["train", str(EXAMPLES / "elman_letters.toml"), "--set", "model=3"],
        ["train", str(EXAMPLES / "elman_letters.toml"), "--set", "training.seed=-1"],
        ["train", str(EXAMPLES / "elman_letters.toml"), "--set", "training.lr=nan"],
    ],
)
def test_known_mistakes_are_one_error_line(argv):
    status, _, stderr = run(argv)
    assert status == 2 and stderr.startswith("error: ") and "Traceback" not in stderr


@pytest.mark.slow
@settings(SLOW)
@given(st.sampled_from(COMMANDS), st.lists(tokens, max_size=8))
def test_any_arguments_exit_0_or_2_without_a_traceback_many(command, arguments):
    check([command, *arguments])


@pytest.mark.slow
@settings(SLOW)
@given(st.sampled_from(sorted(EXAMPLES.glob("*.toml"))), train_arguments)
def test_train_with_any_overrides_exits_2_before_training_many(config, arguments):
    check(["train", str(config), *arguments, "--set", REFUSED])
