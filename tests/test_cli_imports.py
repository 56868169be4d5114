"""`rnnlab --help` and `rnnlab list` answer without importing torch or the other heavy libraries.

A check of sys.modules, not of time: which modules a command imports does not depend on the
machine's load.
"""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "numpy", "numba", "matplotlib", "scipy", "sklearn", "pandas", "statsmodels")

# Runs the command in a fresh interpreter, then prints the heavy modules it imported.
PROBE = """
import json, sys
from rnnlab.cli import main
try:
    main(sys.argv[1:])
except SystemExit as done:
    assert done.code in (0, None), done.code
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})))
"""

COMMANDS = ["train", "resume", "evaluate", "predict", "generate", "translate", "forecast",
            "replicate", "sweep", "bench"]  # fmt: skip


def imported(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=set(HEAVY)), *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "args", [["--help"], ["list"], [], *([command, "--help"] for command in COMMANDS)]
)
def test_help_and_list_import_no_heavy_library(args):
    assert imported(*args) == []


def test_the_package_imports_torch_only_when_a_layer_is_asked_for():
    probe = "import sys, rnnlab; assert 'torch' not in sys.modules; print(rnnlab.LSTM.__name__)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "LSTM"


def test_every_public_name_resolves():
    import rnnlab

    for name in rnnlab.__all__:
        assert getattr(rnnlab, name) is not None
        assert name in dir(rnnlab)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = rnnlab.Nope


def test_training_imports_neither_scikit_learn_nor_scipy_stats():
    """Every `rnnlab train`, `resume` and `evaluate` imports the trainer; scikit-learn and
    scipy.stats, which only the baselines use, take seconds to import and wait until then."""
    heavy = {"sklearn", "scipy.stats"}
    probe = f"import sys, rnnlab.train.trainer; print(sorted(set(sys.modules) & {heavy!r}))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
