"""The log-space parallel scan against the sequential loop (spec §6.3.1): values, gradients,
second order, and a_t down to e^-30, on both evaluations of the logcumsumexp."""

import pytest
import torch

from rnnlab.kernels import scan

B, H = 3, 4


def coefficients(T: int, dtype, seed: int = 0, log_a_low: float = -3.0):
    """Random log a in [log_a_low, 0], positive b (log b ~ N(0, 1)), h0 of both signs."""
    generator = torch.Generator().manual_seed(seed)
    log_a = torch.rand(B, T, H, generator=generator, dtype=torch.float64) * log_a_low
    log_b = torch.randn(B, T, H, generator=generator, dtype=torch.float64)
    h0 = torch.randn(B, H, generator=generator, dtype=torch.float64)
    return log_a.to(dtype), log_b.to(dtype), h0.to(dtype)


def force(monkeypatch, evaluation: str) -> None:
    """``"shift"``: the shifted cumsum everywhere; ``"loop"``: never; ``"default"``:
    where the span allows it (SHIFT_SPAN)."""
    if evaluation != "default":
        span = float("inf") if evaluation == "shift" else 0.0
        monkeypatch.setattr(scan, "SHIFT_SPAN", dict.fromkeys(scan.SHIFT_SPAN, span))


@pytest.fixture(params=["shift", "loop"])
def evaluation(request, monkeypatch):
    """Each evaluation of a block, forced (coefficients where both are exact)."""
    force(monkeypatch, request.param)
    return request.param


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float(((got.double() - want).abs() / want.abs().clamp_min(1e-300)).max())


@pytest.mark.parametrize(
    ("dtype", "tolerance"), [(torch.float64, 1e-10), (torch.float32, 1e-3)], ids=["f64", "f32"]
)
def test_log_space_scan_equals_the_sequential_loop_at_4096_steps(evaluation, dtype, tolerance):
    """Spec 6.3.1: rel. err. <= 1e-5 (float64; here 1e-10) or <= 1e-3 (float32) at T = 4096,
    against the float64 loop. h0 > 0 here so that h stays away from 0 (a relative error)."""
    log_a, log_b, h0 = coefficients(4096, dtype)
    h0 = h0.abs()
    got = scan.log_space_scan(log_a, log_b, h0)
    want = scan.sequential_scan(log_a.double().exp(), log_b.double().exp(), h0.double())
    assert got.dtype == dtype and got.shape == (B, 4096, H)
    assert relative_error(got, want) <= tolerance


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("evaluation", ["default", "loop"])
def test_a_as_small_as_e_minus_30_gives_no_nan(monkeypatch, evaluation, dtype):
    """Spec 6.3.1: no NaN or inf for a_t down to e^-30, in values and gradients (the shift
    alone would overflow here in float32: the default falls back where the span says so)."""
    force(monkeypatch, evaluation)
    log_a, log_b, h0 = coefficients(100, dtype, log_a_low=-30.0)
    log_a[:, ::7] = -30.0  # exactly e^-30 at every seventh step
    log_a.requires_grad_(), log_b.requires_grad_(), h0.requires_grad_()
    got = scan.log_space_scan(log_a, log_b, h0)
    grads = torch.autograd.grad(got.sum(), (log_a, log_b, h0))
    assert torch.isfinite(got).all() and all(torch.isfinite(g).all() for g in grads)
    want = scan.sequential_scan(log_a.double().exp(), log_b.double().exp(), h0.double())
    torch.testing.assert_close(got.double(), want, rtol=1e-3 if dtype == torch.float32 else 1e-10,
                               atol=0)  # fmt: skip


def test_the_float32_default_picks_the_shift_where_it_is_exact_and_not_where_it_is_not(
    monkeypatch,
):
    """Ordinary gates take the shifted cumsum; a block that spans more than SHIFT_SPAN takes
    the blocks' loop (and both are right, above)."""
    shifted = []
    original = torch.Tensor.cumsum
    monkeypatch.setattr(
        torch.Tensor, "cumsum", lambda t, dim: shifted.append(dim) or original(t, dim)
    )
    scan.log_space_scan(*coefficients(64, torch.float32, log_a_low=-1.0))
    assert shifted.count(2) == 2  # a* and the shifted sum
    shifted.clear()
    scan.log_space_scan(*coefficients(64, torch.float32, log_a_low=-30.0))
    assert shifted.count(2) == 1  # a* only


@pytest.mark.parametrize("T", [1, 5, 150])
def test_gradients_equal_the_sequential_loops(evaluation, T):
    """Values and gradients for log a, log b and h0, across block and chunk boundaries."""
    log_a, log_b, h0 = (t.requires_grad_() for t in coefficients(T, torch.float64, seed=T))
    weights = torch.randn(B, T, H, dtype=torch.float64)
    got = scan.log_space_scan(log_a, log_b, h0, chunk_size=64)
    want = scan.sequential_scan(log_a.exp(), log_b.exp(), h0)
    torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-12)
    got_grads = torch.autograd.grad((weights * got).sum(), (log_a, log_b, h0))
    want_grads = torch.autograd.grad((weights * want).sum(), (log_a, log_b, h0))
    for mine, theirs in zip(got_grads, want_grads):
        torch.testing.assert_close(mine, theirs, atol=1e-11, rtol=1e-11)


def test_gradcheck_and_gradgradcheck(evaluation, monkeypatch):
    """Numerical first and second derivatives, with blocks of 2 and chunks of 4 steps so that
    5 steps cross both kinds of boundary."""
    monkeypatch.setattr(scan, "BLOCK_SIZE", 2)
    log_a, log_b, h0 = coefficients(5, torch.float64)
    log_a, log_b = (t[:1, :, :2].clone().requires_grad_() for t in (log_a, log_b))
    h0 = h0[:1, :2].clone().requires_grad_()

    def function(log_a, log_b, h0):
        return scan.log_space_scan(log_a, log_b, h0, chunk_size=4)

    assert torch.autograd.gradcheck(function, (log_a, log_b, h0))
    assert torch.autograd.gradgradcheck(function, (log_a, log_b, h0))


def test_chunk_steps_bound_a_chunk():
    assert scan.chunk_steps(16, 128) == scan.CHUNK_ELEMENTS // (16 * 128)
    assert scan.chunk_steps(1, 1) == scan.CHUNK_SIZE
    assert scan.chunk_steps(10**6, 10**3) == scan.BLOCK_SIZE
