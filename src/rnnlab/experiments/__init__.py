"""Replications of classic studies, each with the paper's numbers beside ours.

:mod:`rnnlab.experiments.elman1990`
    Elman (1990) "Finding Structure in Time": five simulations, two modes.
"""

EXPERIMENTS = {
    "elman1990": "Elman (1990) Finding Structure in Time: XOR, letters, words, classes, zog",
}
