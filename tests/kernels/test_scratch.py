"""Scratch buffers: reused within a thread, never shared across threads, and a kernel that uses
them gives the reference's gradients even when two passes are in flight at once."""

import threading

import pytest
import torch

import rnnlab
from rnnlab.kernels import dispatch, scratch


def test_same_name_gives_back_the_same_memory():
    like = torch.zeros(1)
    first = scratch.scratch("test.a", (4, 5), like)
    again = scratch.scratch("test.a", (2, 3), like)
    assert again.data_ptr() == first.data_ptr() and again.shape == (2, 3)
    other = scratch.scratch("test.b", (4, 5), like)
    assert other.data_ptr() != first.data_ptr()
    bigger = scratch.scratch("test.a", (10, 10), like)
    assert bigger.shape == (10, 10) and bigger.dtype == like.dtype


def test_large_buffers_and_other_threads_get_their_own():
    like = torch.zeros(1)
    numel = scratch.MAX_BYTES // like.element_size() + 1
    assert scratch.scratch("test.c", (numel,), like).data_ptr() != (
        scratch.scratch("test.c", (numel,), like).data_ptr()
    )
    mine = scratch.scratch("test.d", (8,), like).data_ptr()
    theirs = []
    thread = threading.Thread(
        target=lambda: theirs.append(scratch.scratch("test.d", (8,), like).data_ptr())
    )
    thread.start()
    thread.join()
    assert theirs[0] != mine


@pytest.mark.parametrize("loop", ["compiled", "torch"])
@pytest.mark.parametrize("name", ["Elman", "GRU", "LSTM"])
def test_two_passes_in_flight_match_the_reference(monkeypatch, name, loop):
    # Both forward passes run before either backward pass: scratch shared between them would
    # corrupt the first one's gradients.
    limit = 10**9 if loop == "compiled" else 0
    monkeypatch.setattr(dispatch, "COMPILED_LOOP_MAX_WORK", dict.fromkeys((1, 3, 4), limit))
    torch.manual_seed(0)
    kind = getattr(rnnlab, name)
    # A plain LSTM runs oneDNN's kernel; with peepholes it runs ours.
    options = dict(
        num_layers=2, dtype=torch.float64, **({"peephole": True} if name == "LSTM" else {})
    )
    reference, fast = kind(3, 5, path="reference", **options), kind(3, 5, path="fast", **options)
    fast.load_state_dict(reference.state_dict())
    x1, x2 = torch.randn(4, 7, 3, dtype=torch.float64), torch.randn(4, 7, 3, dtype=torch.float64)
    grads = []
    for layer in (reference, fast):
        loss = layer(x1)[0].square().sum() + 2 * layer(x2)[0].sin().sum()
        grads.append(torch.autograd.grad(loss, list(layer.parameters())))
    for got, want in zip(grads[1], grads[0]):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
