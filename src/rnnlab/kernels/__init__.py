"""Fast paths for the layers on the CPU, each checked against the reference in rnnlab.layers.

A kernel serves one cell family; :data:`rnnlab.layers.KERNELS` registers each for its cell
spec (how the layer calls it, and what the dispatch needs to choose its loops). A family that is
not registered there runs the reference unroll.

Each kernel is a ``torch.autograd.Function`` for one layer and direction: the input
projections of all steps in one GEMM before the time loop, the weight gradients as a few GEMMs
after it, and in the loop only the recurrent product and the elementwise math, compiled with
numba for small sizes and as a loop of torch calls for large ones (the backward loop compiled at
every size where torch's BLAS can serve it).

:mod:`rnnlab.kernels.dispatch`
    Which path runs (``path=`` or ``RNNLAB_PATH``) and which loop.
:mod:`rnnlab.kernels.blas`
    The compiled loops' matrix product, on torch's own BLAS.
:mod:`rnnlab.kernels.scratch`
    Buffers kept from one call to the next, for intermediates that never leave a pass.
:mod:`rnnlab.kernels.second_order`
    What the hand-written backward passes cannot give (gradients with a graph,
    ``create_graph=True``, and gradients through the gates and cells of ``record``), computed by
    differentiating the layer's reference unroll, which every kernel call receives.
:mod:`rnnlab.kernels.elman`
    Elman (tanh, relu, sigmoid).
:mod:`rnnlab.kernels.jordan`
    Jordan (the context is the previous output).
:mod:`rnnlab.kernels.gru`
    GRU (torch's variant).
:mod:`rnnlab.kernels.ctrnn`
    The continuous-time rate network (its leaky Euler recurrence on the weights a step applies;
    Dale's law, masks and time constants reach the parameters through autograd).
:mod:`rnnlab.kernels.lstm`
    LSTM with optional peepholes. Without peepholes and ``lengths``, the layer calls torch's
    fused LSTM (oneDNN on the CPU) instead below a size (``dispatch.FUSED_LSTM_MAX_WORK``),
    where it was as fast or faster.
:mod:`rnnlab.kernels.elman_members`, :mod:`~rnnlab.kernels.gru_members`, :mod:`~.lstm_members`
    One layer and direction of N networks at once (an ensemble's members), registered in
    :data:`rnnlab.layers.MEMBER_KERNELS`; :mod:`rnnlab.kernels.members` holds what the GRU and
    LSTM ones share.

:mod:`rnnlab.kernels.scan`
    The linear recurrence h_t = a_t h_{t-1} + b_t of the minGRU and minLSTM over a whole
    sequence: the sequential loop and the chunked log-space parallel scan (Heinsen 2023), in
    torch operations on any device (a whole-sequence kernel: no loops to choose).
"""
