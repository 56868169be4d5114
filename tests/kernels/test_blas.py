"""The matrix product of the compiled loops (torch's BLAS, else plain loops) against NumPy's."""

import numpy as np
import pytest
import torch

from rnnlab.kernels.blas import gemm_address, matmul, product, weight_operand

DTYPES = [(np.float64, torch.float64, 1e-12), (np.float32, torch.float32, 1e-5)]


@pytest.mark.parametrize("route", ["torch BLAS", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 5, 7), (1, 20, 60), (33, 70, 129)])
def test_matmul_matches_numpy(shape, dtype, route):
    np_dtype, torch_dtype, tolerance = dtype
    address = gemm_address(torch_dtype) if route == "torch BLAS" else 0
    if route == "torch BLAS" and not address:
        pytest.skip("this torch build exports no BLAS routine")
    M, K, N = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M + 2, K + 3)).astype(np_dtype)[1 : M + 1, :K]  # strided rows
    b = rng.standard_normal((K, N)).astype(np_dtype)
    c = rng.standard_normal((M, N)).astype(np_dtype)
    before = c.copy()
    expected = a.astype(np.float64) @ b.astype(np.float64)
    scale = np.abs(expected).max()
    matmul(address, a, b, c, True)
    np.testing.assert_allclose(c, before + expected, rtol=0, atol=tolerance * (scale + 1))
    matmul(address, a, b, c, False)
    np.testing.assert_allclose(c, expected, rtol=0, atol=tolerance * (scale + 1))


@pytest.mark.parametrize("route", ["torch BLAS", "loops"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_matmul_of_layouts_blas_cannot_read(dtype, route):
    """Columns strided, transposed operands: the loops compute what BLAS cannot read."""
    np_dtype, torch_dtype, tolerance = dtype
    address = gemm_address(torch_dtype) if route == "torch BLAS" else 0
    rng = np.random.default_rng(2)
    a = np.asfortranarray(rng.standard_normal((6, 4)).astype(np_dtype))
    b = rng.standard_normal((5, 4)).astype(np_dtype).T  # (4, 5), a transposed view
    c = np.zeros((6, 10), np_dtype)[:, ::2]  # (6, 5), columns two apart
    expected = a.astype(np.float64) @ b.astype(np.float64)
    matmul(address, a, b, c, False)
    np.testing.assert_allclose(c, expected, rtol=0, atol=tolerance * 10)
    matmul(address, a, b, c, True)
    np.testing.assert_allclose(c, 2 * expected, rtol=0, atol=tolerance * 20)


def test_gemm_address_is_zero_for_other_dtypes():
    assert gemm_address(torch.float16) == 0


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 5, 7), (32, 150, 450), (5, 64, 256)])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_packed_product_matches_numpy(shape, dtype, layout):
    np_dtype, torch_dtype, tolerance = dtype
    M, K, N = shape
    generator = torch.Generator().manual_seed(0)
    w = torch.randn(K, N, generator=generator, dtype=torch_dtype)
    if layout == "transposed":  # as the loops pass W_hh^T: a view of a contiguous matrix
        w = w.t().contiguous().t()
    operand = weight_operand(w, M, "test.packed")
    if torch_dtype == torch.float32 and gemm_address(torch_dtype):
        assert operand[1] != 0 and operand[2].size > 0  # packed where MKL can
    rng = np.random.default_rng(1)
    a = rng.standard_normal((M + 1, K + 2)).astype(np_dtype)[1:, :K]  # strided rows
    c = rng.standard_normal((M, N)).astype(np_dtype)
    before = c.copy()
    expected = a.astype(np.float64) @ w.numpy().astype(np.float64)
    bound = tolerance * (np.abs(expected).max() + 1)
    product(operand, a, c, True)
    np.testing.assert_allclose(c, before + expected, rtol=0, atol=bound)
    product(operand, a, c, False)
    np.testing.assert_allclose(c, expected, rtol=0, atol=bound)
    fewer = np.ascontiguousarray(a[: max(M - 1, 0)])  # other row counts: the plain product
    c2 = np.zeros((fewer.shape[0], N), np_dtype)
    product(operand, fewer, c2, False)
    np.testing.assert_allclose(c2, expected[: fewer.shape[0]], rtol=0, atol=bound)
