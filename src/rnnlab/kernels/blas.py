"""Matrix products inside the compiled loops, run by torch's own BLAS.

A compiled loop could call ``np.dot``, which numba hands to SciPy's OpenBLAS. That library
keeps a thread pool of its own, and beside torch's OpenMP threads the two pools fight for the
cores: on the 2-core development machine a loop of ``np.dot`` between torch calls ran up to
three times slower than either alone. torch's CPU builds for x86 link MKL and export its
Fortran ``sgemm_`` and ``dgemm_``; calling those keeps every product in torch's thread pool
(``torch.set_num_threads`` governs them).

Compiled code reaches the routine through its address, passed as an argument (0 where this
torch build has no such symbol: :func:`matmul` then falls back to plain loops), so the loops stay
cacheable on disk: an address baked into compiled code would differ in the next process.

A loop multiplies by the same recurrent weights at every step: :func:`weight_operand` packs
them once per pass into MKL's internal layout (``sgemm_pack``, single precision only) and
:func:`product` multiplies with the packed copy (``sgemm_compute``), else with :func:`matmul`.
"""

import ctypes
import os

import numpy as np
import torch
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


def _find(name: str):
    """The BLAS routine ``name`` in torch's CPU library as a ctypes function, or None."""
    path = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
    try:
        return getattr(ctypes.CDLL(path), name)
    except (OSError, AttributeError):
        return None


def _address(function) -> int:
    return 0 if function is None else ctypes.cast(function, ctypes.c_void_p).value or 0


# INTEGER_NOTE: Fortran BLAS takes integers by reference, 4 bytes wide in the usual (LP64)
# interface and 8 in the ILP64 one. Every integer is stored in 8 bytes: little-endian, its low
# 4 bytes hold the same value, so either interface reads it right.
_ADDRESSES = {torch.float32: _address(_find("sgemm_")), torch.float64: _address(_find("dgemm_"))}
# MKL's packed GEMM (single precision only): a matrix used by every step of a loop is reordered
# once into the layout the kernel reads, and each step's product skips that work (a quarter of
# the time of a (64, 512) x (512, 1536) product here; nothing at B = 32, H = 150).
_PACK_SIZE, _PACK, _COMPUTE = (_find(name) for name in ("SGEMM_PACK_GET_SIZE", "SGEMM_PACK",
                                                      "SGEMM_COMPUTE"))  # fmt: skip
if _PACK_SIZE is not None:
    _PACK_SIZE.restype, _PACK_SIZE.argtypes = ctypes.c_int64, [ctypes.c_void_p] * 4
if _PACK is not None:
    _PACK.restype, _PACK.argtypes = None, [ctypes.c_void_p] * 9


def gemm_address(dtype: torch.dtype) -> int:
    """What the loops take as ``gemm``: torch's BLAS routine for ``dtype``, or 0 for plain
    loops (:func:`loop_product`)."""
    return _ADDRESSES.get(dtype, 0)


@intrinsic
def _call_fortran(typingctx, address, pointers):
    """Call the Fortran routine at ``address`` with ``pointers``, a tuple of addresses (integers):
    Fortran passes every argument by reference."""
    if not isinstance(pointers, types.BaseTuple) or not all(
        isinstance(item, types.Integer) for item in pointers.types
    ):
        return None
    signature = types.void(address, pointers)
    count = len(pointers.types)

    def codegen(context, builder, sig, args):
        pointer = ir.IntType(8).as_pointer()
        function_type = ir.FunctionType(ir.VoidType(), [pointer] * count)
        function = builder.inttoptr(args[0], function_type.as_pointer())
        values = [builder.extract_value(args[1], i) for i in range(count)]
        builder.call(function, [builder.inttoptr(value, pointer) for value in values])
        return context.get_dummy_value()

    return signature, codegen


@njit(cache=True)
def leading_dimension(x):
    """BLAS's leading dimension for the 2-D array ``x`` read as its column-major transpose: its
    row stride in elements; its column count if it has one row (NumPy and torch give such a
    row any stride, even 1); 0 if BLAS cannot read it (rows not contiguous within, or rows
    closer together than they are long)."""
    rows, cols = x.shape
    size = x.itemsize
    if cols > 1 and x.strides[1] != size:
        return 0
    if rows <= 1:
        return max(cols, 1)
    step = x.strides[0] // size
    return step if step >= max(cols, 1) and x.strides[0] % size == 0 else 0


@njit(cache=True)
def loop_product(a, b, c, accumulate):
    """``c = a @ b``, or ``c += a @ b``, by plain loops, for any layouts: where this torch build
    exports no BLAS routine. (``np.dot`` would be faster there, but compiling it took 5 s per
    dtype and operand layouts, in every fresh install, for a path most builds never take.)"""
    M, K = a.shape
    N = b.shape[1]
    for i in range(M):
        if not accumulate:
            for j in range(N):
                c[i, j] = 0
        for k in range(K):
            a_ik = a[i, k]
            for j in range(N):
                c[i, j] += a_ik * b[k, j]


@njit(cache=True)
def matmul(gemm, a, b, c, accumulate):
    """``c = a @ b``, or ``c += a @ b`` if ``accumulate``; a (M, K), b (K, N), c (M, N).

    Rows may be strided. ``gemm`` is :func:`gemm_address` of the dtype, or 0; then, and for
    operands whose layout BLAS cannot read (:func:`leading_dimension`; the loops pass none),
    :func:`loop_product` computes it.
    """
    M, K = a.shape
    N = b.shape[1]
    if M == 0 or N == 0:
        return
    size = a.itemsize
    lda, ldb, ldc = leading_dimension(a), leading_dimension(b), leading_dimension(c)
    if gemm == 0 or K == 0 or lda == 0 or ldb == 0 or ldc == 0:
        loop_product(a, b, c, accumulate)
        return
    # Row-major c = a b is column-major c^T = b^T a^T: the routine sees b first.
    ints = np.empty(6, np.int64)  # see INTEGER_NOTE
    ints[0], ints[1], ints[2] = N, M, K
    ints[3], ints[4], ints[5] = ldb, lda, ldc
    scalars = np.empty(2, c.dtype)
    scalars[0], scalars[1] = 1.0, 1.0 if accumulate else 0.0
    no = np.empty(1, np.uint8)
    no[0] = 78  # "N": neither operand transposed
    p = ints.ctypes.data
    # ?gemm_(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    _call_fortran(gemm, (
        no.ctypes.data, no.ctypes.data, p, p + 8, p + 16, scalars.ctypes.data, b.ctypes.data,
        p + 24, a.ctypes.data, p + 32, scalars.ctypes.data + size, c.ctypes.data, p + 40,
    ))  # fmt: skip


def weight_operand(w: torch.Tensor, rows: int, name: str):
    """``w`` (K, N) as the right operand of a loop's ``rows``-row products, for :func:`product`:
    ``(gemm, compute, packed, w, rows)``, packed once into MKL's layout where this torch build can
    (float32), else with ``compute`` 0 and an empty ``packed``. ``name`` keys the scratch
    buffer that holds the packed matrix for this pass."""
    from rnnlab.kernels.scratch import scratch  # scratch imports nothing from here

    gemm = gemm_address(w.dtype)
    empty = np.empty(0, np.uint8)
    K, N = w.shape
    can_pack = w.dtype == torch.float32 and None not in (_COMPUTE, _PACK, _PACK_SIZE)
    if not can_pack or min(rows, K, N) == 0 or not (w.is_contiguous() or w.t().is_contiguous()):
        return gemm, 0, empty, w.contiguous().numpy(), rows
    # Row-major c = a w is column-major c^T = w^T a^T: w is the routine's first operand, "A",
    # read in place whether w is contiguous ("N") or the transpose of a contiguous matrix ("T").
    ints = [ctypes.c_int64(N), ctypes.c_int64(rows), ctypes.c_int64(K)]  # see INTEGER_NOTE
    size = _PACK_SIZE(b"A", *(ctypes.byref(i) for i in ints))
    if not 0 < size < 2**40:
        return gemm, 0, empty, w.contiguous().numpy(), rows
    packed = scratch(name, (size,), torch.empty(0, dtype=torch.uint8)).numpy()
    transposed = not w.is_contiguous()
    leading = ctypes.c_int64(K if transposed else N)
    one = ctypes.c_float(1.0)
    _PACK(b"A", b"T" if transposed else b"N", *(ctypes.byref(i) for i in ints),
          ctypes.byref(one), w.data_ptr(), ctypes.byref(leading), packed.ctypes.data)  # fmt: skip
    # The plain product's copy of w, for rows other than ``rows`` (shorter sequences drop out of
    # a batch): row-major, as the unpacked operand's, so that numba compiles the loops that take
    # either once, not once per layout (an array's layout is part of its type).
    return gemm, _address(_COMPUTE), packed, w.contiguous().numpy(), rows


@njit(cache=True)
def product(operand, a, c, accumulate):
    """``c = a @ w``, or ``c += a @ w``, for ``operand = weight_operand(w, rows, ...)``; a (M, K),
    c (M, N), contiguous within rows. The packed product serves M = rows, :func:`matmul` the
    rest."""
    gemm, compute, packed, w, rows = operand
    M, K = a.shape
    N = c.shape[1]
    lda, ldc = leading_dimension(a), leading_dimension(c)
    if compute == 0 or rows != M or M == 0 or lda == 0 or ldc == 0:
        matmul(gemm, a, w, c, accumulate)
        return
    ints = np.empty(5, np.int64)  # see INTEGER_NOTE
    ints[0], ints[1], ints[2] = N, M, K
    ints[3], ints[4] = lda, ldc
    beta = np.empty(1, c.dtype)
    beta[0] = 1.0 if accumulate else 0.0
    flags = np.empty(2, np.uint8)
    flags[0], flags[1] = 80, 78  # "P": the first operand is packed, "N": the second is not
    p = ints.ctypes.data
    # sgemm_compute(transa, transb, m, n, k, a, lda, b, ldb, beta, c, ldc)
    _call_fortran(compute, (
        flags.ctypes.data, flags.ctypes.data + 1, p, p + 8, p + 16, packed.ctypes.data, p,
        a.ctypes.data, p + 24, beta.ctypes.data, c.ctypes.data, p + 32,
    ))  # fmt: skip
