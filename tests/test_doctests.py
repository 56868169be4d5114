"""The examples in the docstrings run and print what they say."""

import doctest
import importlib

import pytest
import torch

# Every module whose docstrings hold examples (``>>>``).
MODULES = (
    "rnnlab.layers",
    "rnnlab.cells.spec",
    "rnnlab.cells.elman",
    "rnnlab.cells.jordan",
    "rnnlab.cells.gru",
    "rnnlab.cells.lstm",
    "rnnlab.cells.ctrnn",
    "rnnlab.reference.ctrnn",
    "rnnlab.models.readout",
    "rnnlab.tasks.base",
    "rnnlab.analysis.psychometrics",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    torch.manual_seed(0)
    results = doctest.testmod(module, extraglobs={"torch": torch}, report=True)
    assert results.attempted > 0, f"{name} has no examples; take it off MODULES"
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples failed"
