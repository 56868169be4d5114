"""Fast paths for the layers on the CPU, each checked against the reference in rnnlab.layers.

:mod:`rnnlab.kernels.dispatch`
    Which path runs (``path=`` or ``RNNLAB_PATH``) and which loop.
:mod:`rnnlab.kernels.elman`
    The Elman time loop (tanh, relu, sigmoid), forward and backward.
"""
