"""What the tests share: the BLAS threads of NumPy and SciPy, hypothesis profiles, and the
fixtures of more than one test file.

The measured choice of loops is off (``RNNLAB_TUNE=0``, inherited by subprocesses too), except
where a test turns it on.

NumPy's and SciPy's OpenBLAS (scikit-learn's baselines, statsmodels) runs one thread in the tests
and in the commands they start: on the tests' small problems a second thread gains nothing, and
while anything else keeps a core busy, OpenBLAS's threads wait for each other (the names
baselines of tests/evaluation/test_classification.py took 20 s with one thread and 33 s with two
on the quiet 2-core machine, and had not ended after 600 s with two while other work kept a core
busy). torch's own BLAS (MKL) and threads, which the kernels use, are left as they are.

The hypothesis profiles of the property tests (tests/test_properties_*.py): ``ci`` (the default)
tries few examples, so that each property takes seconds; ``slow`` tries many, for the
``@pytest.mark.slow`` variant of each property (``pytest -m slow``). Set
``HYPOTHESIS_PROFILE=slow`` to run every property with many examples.
"""

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Before NumPy is imported (nothing has yet, in pytest or its plugins); inherited by subprocesses.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The loops are chosen by the size rules, not measured (rnnlab.kernels.tuning): no test's numbers
# may depend on which loop was faster that minute. tests/kernels/test_tuning.py measures.
os.environ.setdefault("RNNLAB_TUNE", "0")

# The shared data sits beside the repository (../shared/data), as in a fresh clone for CI.
SHAKESPEARE = Path(__file__).resolve().parents[2] / "shared/data/text/tinyshakespeare.txt"

# deadline=None: the first example of a run imports torch and pays for it.
settings.register_profile("ci", max_examples=25, deadline=None)
settings.register_profile("slow", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def corpus(tmp_path):
    """A text file of the first 20,000 characters of Tiny Shakespeare, the corpus of the tests of
    character language models (tasks, evaluation, sampling)."""
    path = tmp_path / "slice.txt"
    path.write_text(SHAKESPEARE.read_text(encoding="utf-8")[:20_000], encoding="utf-8")
    return path


class Ran:
    """What a command printed and its exit status, as ``subprocess.run`` reports them."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli_in_process(capsys, monkeypatch):
    """Run the command line's ``main`` in this process: ``run(*args, cwd=None) -> Ran``.

    For the commands that end in a user's mistake before any work: a process of its own would
    spend 4-5 s of the 2-core machine importing torch to print one line. An exception that
    ``main`` lets through (what a user would see as a traceback) fails the test. The tests of
    the entry point itself, and of what needs a process (signals, locks), start one."""
    from rnnlab.cli import main

    def run(*args, cwd=None) -> Ran:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else int(done.code is not None)
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run
