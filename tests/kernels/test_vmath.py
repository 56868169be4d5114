"""The compiled loops' exp, tanh and sigmoid against NumPy's, over the whole range."""

import numpy as np
import pytest

from rnnlab.kernels import vmath

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300, 39.9, 40.1, -40.1]


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-13), (np.float32, 4e-7)])
@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_matches_numpy(name, dtype, tolerance):
    x = np.concatenate([np.linspace(-60, 60, 120_001), SPECIAL]).astype(dtype)
    got = np.empty_like(x)
    getattr(vmath, f"{name}_into")(x, got)
    exact = x.astype(np.float64)
    expected = np.tanh(exact) if name == "tanh" else 1 / (1 + np.exp(-exact))
    np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance)  # NaN where NaN
    assert got.dtype == dtype


def test_in_place_and_exp_is_relatively_accurate():
    x = np.linspace(-40, 40, 8001)
    relative = np.array([vmath.exp_clamped(v) for v in x]) / np.exp(x) - 1
    assert np.abs(relative).max() < 1e-12
    y = x.copy()
    vmath.tanh_into(y, y)
    np.testing.assert_allclose(y, np.tanh(x), rtol=0, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_relatively_accurate_where_it_is_small(dtype):
    x = np.linspace(-39, -9, 3001).astype(dtype)
    got = np.empty_like(x)
    vmath.sigmoid_into(x, got)
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert np.abs(got / exact - 1).max() < (1e-6 if dtype == np.float32 else 1e-12)


def test_the_float32_exp_is_relatively_accurate_over_the_normal_range():
    from numba import njit

    @njit
    def exp32_into(a, out):
        for i in range(a.shape[0]):
            out[i] = vmath.exp32(a[i])

    x = np.concatenate([np.linspace(-87, 87, 200_001), [0.0, -0.0, 1e-30]]).astype(np.float32)
    got = np.empty_like(x)
    exp32_into(x, got)
    relative = got.astype(np.float64) / np.exp(x.astype(np.float64)) - 1
    assert got.dtype == np.float32 and np.abs(relative).max() < 3e-7
