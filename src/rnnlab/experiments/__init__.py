"""Replications of classic studies, each with the paper's numbers beside ours.

:mod:`rnnlab.experiments.elman1990`
    Elman (1990) "Finding Structure in Time": five simulations, two modes.
:mod:`rnnlab.experiments.bengio1994`
    Bengio, Simard & Frasconi (1994): the latch, gradient decay, random guessing.
:mod:`rnnlab.experiments.long_range`
    Elman, GRU and LSTM on the adding problem and copy memory.
:mod:`rnnlab.experiments.flipflop`
    Sussillo & Barak (2013): the fixed points of a GRU trained on the 3-bit flip-flop.
:mod:`rnnlab.experiments.munakata1997`
    Munakata et al. (1997): looking before reaching, a lag from the reach head's fewer signals.
:mod:`rnnlab.experiments.botvinick_plaut2004`
    Botvinick & Plaut (2004): coffee and tea in a simulated kitchen; slips and ADS under noise.
:mod:`rnnlab.experiments.guclu2017`
    Güçlü & van Gerven (2017): recurrent vs HRF-convolution response models of simulated fMRI.
"""

import importlib
import inspect

from rnnlab.catalog import EXPERIMENTS  # name -> description, where `rnnlab list` reads them

__all__ = [
    "EXPERIMENTS",
    "data_experiments",
    "default_seeds",
    "parallel_experiments",
    "runner",
]


def runner(name: str):
    """The ``run(out, seeds, quick, echo)`` function of experiment ``name``."""
    return importlib.import_module(f"rnnlab.experiments.{name.replace('-', '_')}").run


def parallel_experiments() -> list[str]:
    """The experiments whose ``run`` takes ``workers`` (trains its networks on local worker
    processes, :mod:`rnnlab.train.workers`)."""
    return [name for name in EXPERIMENTS
            if "workers" in inspect.signature(runner(name)).parameters]  # fmt: skip


def data_experiments() -> list[str]:
    """The experiments whose ``run`` takes ``features`` and ``responses``: a user's own data
    files in place of the simulated data (guclu2017)."""
    files = {"features", "responses"}
    return [name for name in EXPERIMENTS
            if files <= set(inspect.signature(runner(name)).parameters)]  # fmt: skip


def default_seeds(name: str) -> int:
    """The seeds (networks) ``rnnlab replicate NAME`` runs when ``--seeds`` is not given: the
    experiment module's ``CLI_SEEDS``, else 5."""
    module = importlib.import_module(f"rnnlab.experiments.{name.replace('-', '_')}")
    return getattr(module, "CLI_SEEDS", 5)
