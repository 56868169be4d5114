"""The fast path against the reference path, for whole layers: values and gradients.

Every layer option goes through the kernels here: stacking, both directions, variable lengths,
initial states, float64 (1e-10) and float32 (1e-5), and both loops (compiled and torch).
"""

import re

import pytest
import torch

import rnnlab
from rnnlab.kernels import blas, dispatch

B, T, I, H, O = 4, 6, 3, 5, 2
LENGTHS = [6, 2, 1, 5]

LAYERS = {
    "elman_tanh": lambda **kw: rnnlab.Elman(I, H, nonlinearity="tanh", **kw),
    "elman_relu": lambda **kw: rnnlab.Elman(I, H, nonlinearity="relu", **kw),
    "elman_sigmoid": lambda **kw: rnnlab.Elman(I, H, nonlinearity="sigmoid", **kw),
    "jordan": lambda **kw: rnnlab.Jordan(I, H, O, **kw),
    "gru": lambda **kw: rnnlab.GRU(I, H, **kw),
    "lstm": lambda **kw: rnnlab.LSTM(I, H, **kw),
    "lstm_peephole": lambda **kw: rnnlab.LSTM(I, H, peephole=True, **kw),
}
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}


def parts(state):
    return tuple(state) if isinstance(state, tuple) else (state,)


def run(layer, x, state, lengths, weights):
    outputs, final = layer(x, state, lengths)
    loss = (outputs * weights).sum() + sum((p * p).sum() for p in parts(final))
    grads = torch.autograd.grad(loss, [x, *parts(state), *layer.parameters()])
    return [outputs, *parts(final), *grads]


@pytest.mark.parametrize("loop", ["compiled", "torch", "torch forward, compiled backward"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("shape", [(1, False), (2, True)], ids=["L1", "L2bi"])
@pytest.mark.parametrize("name", LAYERS)
def test_fast_path_matches_reference(monkeypatch, name, shape, lengths, dtype, loop):
    limit = 10**9 if loop == "compiled" else 0
    monkeypatch.setattr(dispatch, "COMPILED_LOOP_MAX_WORK", dict.fromkeys((1, 3, 4), limit))
    if loop == "torch":  # without torch's BLAS for the compiled loops, the backward is torch's
        monkeypatch.setattr(dispatch, "gemm_address", lambda dtype: 0)
    elif loop != "compiled" and not blas.gemm_address(dtype):
        pytest.skip("this torch build exports no BLAS routine: the backward runs as torch's")
    num_layers, bidirectional = shape
    torch.manual_seed(0)
    options = dict(num_layers=num_layers, bidirectional=bidirectional, dtype=dtype)
    reference = LAYERS[name](path="reference", **options)
    fast = LAYERS[name](path="fast", **options)
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(B, T, I, dtype=dtype, requires_grad=True)
    state = reference.initial_state(B)
    state = type(state)(*(torch.randn_like(p) for p in parts(state))) if isinstance(
        state, tuple
    ) else torch.randn_like(state)  # fmt: skip
    for p in parts(state):
        p.requires_grad_()
    lengths = None if lengths is None else torch.tensor(lengths)
    weights = torch.randn(B, T, fast(x)[0].shape[-1], dtype=dtype)
    want = run(reference, x, state, lengths, weights)
    got = run(fast, x, state, lengths, weights)
    for k, (g, w) in enumerate(zip(got, want)):
        torch.testing.assert_close(g, w, atol=TOLERANCE[dtype], rtol=0, msg=f"item {k}")


@pytest.mark.parametrize("name", LAYERS)
def test_record_on_the_fast_path_matches_reference(name):
    torch.manual_seed(0)
    reference = LAYERS[name](path="reference", num_layers=2, bidirectional=True)
    fast = LAYERS[name](path="fast", num_layers=2, bidirectional=True)
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(B, T, I)
    lengths = torch.tensor(LENGTHS)
    want, got = reference.record(x, lengths=lengths), fast.record(x, lengths=lengths)
    assert type(want) is type(got)
    for field, g, w in zip(want._fields, got, want):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=0, msg=field)


def test_path_fast_says_why_it_cannot_serve_a_call():
    layer = rnnlab.GRU(I, H, path="fast", dtype=torch.bfloat16)
    message = "path='fast' cannot serve this call: the fast kernels support float32 and float64"
    with pytest.raises(ValueError, match=re.escape(message)):
        layer(torch.randn(B, T, I, dtype=torch.bfloat16))
    # "auto" serves the same call on the reference path instead.
    layer.path = "auto"
    assert layer(torch.randn(B, T, I, dtype=torch.bfloat16))[0].shape == (B, T, H)


def test_environment_variable_selects_the_path(monkeypatch):
    layer = rnnlab.Elman(I, H)
    x = torch.randn(B, T, I)
    reference_calls = []
    original = layer._run_direction
    monkeypatch.setattr(
        layer,
        "_run_direction",
        lambda *args, **kwargs: reference_calls.append(1) or original(*args, **kwargs),
    )
    monkeypatch.setenv("RNNLAB_PATH", "reference")
    layer(x)
    assert len(reference_calls) == 1
    for path in ("fast", "auto"):
        monkeypatch.setenv("RNNLAB_PATH", path)
        layer(x)
    assert len(reference_calls) == 1
    monkeypatch.setenv("RNNLAB_PATH", "turbo")
    with pytest.raises(ValueError, match="RNNLAB_PATH must be one of auto, fast, reference"):
        layer(x)
    with pytest.raises(ValueError, match="path must be one of 'auto', 'fast', 'reference' or None"):
        rnnlab.LSTM(I, H, path="quick")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
@pytest.mark.parametrize("name", LAYERS)
def test_every_layer_runs_on_cuda(name):
    layer = LAYERS[name](device="cuda")
    outputs, _ = layer(torch.randn(B, T, I, device="cuda"))
    assert outputs.device.type == "cuda"


def test_fast_path_name_says_which_implementation_serves():
    assert rnnlab.Elman(I, 2).fast_path_name(batch_size=1) == "compiled loop"
    big = "torch loop, compiled backward" if blas.gemm_address(torch.float32) else "torch loop"
    assert rnnlab.Elman(I, 512).fast_path_name(batch_size=64) == big
    assert rnnlab.GRU(I, 512).fast_path_name(batch_size=64) == "compiled loop"
    assert rnnlab.LSTM(I, 20).fast_path_name(batch_size=1) == "torch fused"
    assert rnnlab.LSTM(I, 512).fast_path_name(batch_size=64) == "compiled loop"  # ours: faster
    assert rnnlab.LSTM(I, 20).fast_path_name(batch_size=1, record=True) == "compiled loop"
    assert rnnlab.LSTM(I, 20, peephole=True).fast_path_name(batch_size=1) == "compiled loop"
    assert rnnlab.GRU(I, 20, path="reference").fast_path_name(batch_size=1) == "reference"
