r"""A NumPy reference for the recurrent layers: forward passes and hand-derived backpropagation.

Each module is one chapter, written to be read: the equations in its docstring, explicit loops
over time, and every derivative of the backward pass on its own commented line, the step of
the chain rule it is. Backpropagation through time follows Rumelhart, Hinton & Williams (1986)
and Werbos (1990). Only NumPy is used, so the reference is also an independent oracle for the
torch layers in :mod:`rnnlab.layers` (the tests check both against each other and against
finite differences).

The chapters:

:mod:`rnnlab.reference.elman`
    Elman's (1990) simple recurrent network, ``h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``
    with ``f`` tanh, relu or sigmoid.
:mod:`rnnlab.reference.gru`
    The gated recurrent unit in torch.nn's variant (gate order r, z, n; the reset gate scales
    ``W_hn h_{t-1} + b_hn``).
:mod:`rnnlab.reference.lstm`
    Long short-term memory in torch.nn's gate order i, f, g, o, with optional peepholes.
:mod:`rnnlab.reference.ctrnn`
    The continuous-time rate network (Song, Yang & Wang 2016) by Euler's method,
    ``v_t = (1 - alpha) v_{t-1} + alpha (W_ih x_t + b_ih + W_hh f(v_{t-1}) + b_hh) + n_t``,
    outputs ``f(v_t)``, on the weights a step applies (after Dale's law and masks).
:mod:`rnnlab.reference.shared`
    The logistic function, the linear map and the input checks the chapters share.

Every chapter has the same interface, for one layer, one direction, batch first, float64::

    outputs, final_state, cache = module.forward(x, state, params, ...)
    grads = module.backward(d_outputs, d_final_state, cache)

``x`` is (B, T, I); ``state`` the initial state, (B, H) (a pair ``(h_0, c_0)`` for the LSTM);
``params`` a dict with torch.nn's names ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``
(biases may be None) and, for the LSTM, ``weight_peephole``. ``outputs`` is (B, T, H) and
``final_state`` has the layout of ``state``. ``grads`` holds the gradient of the loss with
respect to ``x``, the initial state (``"state"``; ``"h"`` and ``"c"`` for the LSTM) and every
parameter present, under the same names.

References:
    Rumelhart, D. E., Hinton, G. E. and Williams, R. J. (1986). Learning representations by
    back-propagating errors. *Nature*, 323, 533-536.
    Werbos, P. J. (1990). Backpropagation through time: what it does and how to do it.
    *Proceedings of the IEEE*, 78(10), 1550-1560.
"""

from rnnlab.reference import ctrnn, elman, gru, lstm

__all__ = ["ctrnn", "elman", "gru", "lstm"]
