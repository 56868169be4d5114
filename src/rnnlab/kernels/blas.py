"""Matrix products inside the compiled loops, run by torch's own BLAS.

A compiled loop could call ``np.dot``, which numba hands to SciPy's OpenBLAS. That library
keeps a thread pool of its own, and beside torch's OpenMP threads the two pools fight for the
cores: on the 2-core development machine a loop of ``np.dot`` between torch calls ran up to
three times slower than either alone. torch's CPU builds for x86 link MKL and export its
Fortran ``sgemm_`` and ``dgemm_``; calling those keeps every product in torch's thread pool
(``torch.set_num_threads`` governs them).

Compiled code reaches the routine through its address, passed as an argument (0 where this
torch build has no such symbol: :func:`matmul` then falls back to ``np.dot``), so the loops stay
cacheable on disk: an address baked into compiled code would differ in the next process.
"""

import ctypes
import os

import numpy as np
import torch
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


def _find_gemm(name: str) -> int:
    """The address of the BLAS routine ``name`` in torch's CPU library, or 0."""
    path = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
    try:
        return ctypes.cast(getattr(ctypes.CDLL(path), name), ctypes.c_void_p).value or 0
    except (OSError, AttributeError):
        return 0


_ADDRESSES = {torch.float32: _find_gemm("sgemm_"), torch.float64: _find_gemm("dgemm_")}


def gemm_address(dtype: torch.dtype) -> int:
    """What the loops take as ``gemm``: torch's BLAS routine for ``dtype``, or 0 for np.dot."""
    return _ADDRESSES.get(dtype, 0)


@intrinsic
def _call_fortran_gemm(typingctx, address, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """Call the Fortran ``?gemm_`` at ``address``; every other argument is a pointer (intp)."""
    signature = types.void(*([types.intp] * 14))

    def codegen(context, builder, sig, args):
        pointer = ir.IntType(8).as_pointer()
        function_type = ir.FunctionType(ir.VoidType(), [pointer] * 13)
        function = builder.inttoptr(args[0], function_type.as_pointer())
        builder.call(function, [builder.inttoptr(arg, pointer) for arg in args[1:]])
        return context.get_dummy_value()

    return signature, codegen


@njit(cache=True)
def matmul(gemm, a, b, c, accumulate):
    """``c = a @ b``, or ``c += a @ b`` if ``accumulate``; a (M, K), b (K, N), c (M, N).

    Rows may be strided, elements within a row must be contiguous (slices of C-ordered arrays
    along the first axes are). ``gemm`` is :func:`gemm_address` of the dtype, or 0.
    """
    M, K = a.shape
    N = b.shape[1]
    if M == 0 or N == 0:
        return
    size = a.itemsize
    strided = a.strides[1] != size or b.strides[1] != size or c.strides[1] != size
    if gemm == 0 or K == 0 or strided:
        product = np.dot(np.ascontiguousarray(a), np.ascontiguousarray(b))
        if accumulate:
            c += product
        else:
            c[:] = product
        return
    # Row-major c = a b is column-major c^T = b^T a^T: the routine sees b first.
    ints = np.empty(6, np.int32)
    ints[0], ints[1], ints[2] = N, M, K
    ints[3], ints[4], ints[5] = b.strides[0] // size, a.strides[0] // size, c.strides[0] // size
    scalars = np.empty(2, c.dtype)
    scalars[0], scalars[1] = 1.0, 1.0 if accumulate else 0.0
    no = np.empty(1, np.uint8)
    no[0] = 78  # "N": neither operand transposed
    p = ints.ctypes.data
    _call_fortran_gemm(
        gemm, no.ctypes.data, no.ctypes.data, p, p + 4, p + 8, scalars.ctypes.data, b.ctypes.data,
        p + 12, a.ctypes.data, p + 16, scalars.ctypes.data + size, c.ctypes.data, p + 20,
    )  # fmt: skip
