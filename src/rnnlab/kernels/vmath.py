"""exp, tanh and sigmoid that compiled loops can vectorise.

numba turns ``np.exp`` and ``np.tanh`` into calls of the C library's scalar functions, one
element at a time (about 10 ns each here), so a compiled step that activates thousands of units
loses to torch's vectorised kernels. These are written in plain arithmetic instead, which LLVM
turns into SIMD code when the loop around them is simple: 1-D contiguous slices, no branches,
and ``error_model="numpy"`` (numba's default checks every division for zero, and that check
alone keeps a loop scalar).

The method: for |x| <= 40, exp(x) = exp(x / 256) ** 256, the inner exp by its Taylor series to
the 9th power (truncation below 1e-19 at |x / 256| <= 0.16) and the power by eight squarings,
which multiply the relative rounding error by 256: below 1e-12 for exp (at |x| = 40), and an
absolute error below 2e-14 for tanh and sigmoid. Beyond the clamp tanh is +-1 and sigmoid 0 or
1 to well within those errors (exp(-40) is 4e-18). NaN propagates.

:func:`tanh_of` and :func:`sigmoid_of` follow the type of their argument: float64 as above; for
float32, tanh is a float32 rational function (:func:`tanh32`, absolute error below 4e-7,
relative below 1e-7 near 0) and the sigmoid goes through a float32 exp (:func:`exp32`, range
reduction by ln 2 and a power of two from its bits, relative error below 3e-7), which fit
twice as many lanes in a vector register. (The float32 sigmoid went through the float64 exp
until December 2026: the LSTM's compiled forward loop at (T, B, H) = (200, 32, 64) took 14 ms
then, 8-10 ms with float32 arithmetic.)
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

LIMIT = 40.0
_OPTIONS = dict(cache=True, error_model="numpy", fastmath={"contract"})


@njit(inline="always", **_OPTIONS)
def exp_clamped(x):
    """exp(x) for x clamped to [-40, 40]; x a float64."""
    x = -LIMIT if x < -LIMIT else (LIMIT if x > LIMIT else x)
    y = x * (1.0 / 256.0)
    p = 1.0 + y * (1.0 + y * (1.0 / 2 + y * (1.0 / 6 + y * (1.0 / 24 + y * (1.0 / 120 + y * (
        1.0 / 720 + y * (1.0 / 5040 + y * (1.0 / 40320 + y * (1.0 / 362880)))))))))  # fmt: skip
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return p * p


@njit(inline="always", **_OPTIONS)
def tanh(x):
    """tanh(x) of a float64: 1 - 2 / (exp(2x) + 1), odd by construction."""
    e = exp_clamped(-2.0 * abs(x))
    t = (1.0 - e) / (1.0 + e)
    return t if x >= 0 else -t


@njit(inline="always", **_OPTIONS)
def sigmoid(x):
    """1 / (1 + exp(-x)) of a float64."""
    return 1.0 / (1.0 + exp_clamped(-x))


# float32: tanh(x) = x P(x^2) / Q(x^2) on |x| <= 9 (beyond, float32's tanh is +-1 to within
# half an ulp), P and Q of degree 4, fitted here by iteratively reweighted least squares
# against float64 tanh; evaluated in float32 the error stays below 4e-7 (tested). Twice as many
# float32 lanes as float64 fit a vector register, and there is no exp.
TANH32_LIMIT = np.float32(9.0)
P32 = tuple(np.float32(v) for v in (0.9999999062677097, 0.13373126313486974,
                                     0.0034865014922847164, 2.0470686485925054e-05,
                                     1.3182983695409787e-08))  # fmt: skip
Q32 = tuple(np.float32(v) for v in (1.0, 0.467064230142998, 0.025841661957156797,
                                     0.0003271261569961851, 7.702082482656199e-07))  # fmt: skip


@njit(inline="always", **_OPTIONS)
def tanh32(x):
    """tanh of a float32, in float32 arithmetic."""
    lim = TANH32_LIMIT
    x = -lim if x < -lim else (lim if x > lim else x)
    s = x * x
    p = P32[0] + s * (P32[1] + s * (P32[2] + s * (P32[3] + s * P32[4])))
    q = Q32[0] + s * (Q32[1] + s * (Q32[2] + s * (Q32[3] + s * Q32[4])))
    t = x * p / q
    one = np.float32(1.0)
    return -one if t < -one else (one if t > one else t)


# float32 exp: x = n ln 2 + r with n an integer and |r| <= ln(2) / 2 (ln 2 split in two so that
# n ln 2 is exact), e^r by its Taylor series to the 7th power (truncation below 6e-9), times
# 2^n built from its bits. Relative error below 3e-7 for x in [-87, 87], where float32 is
# normal; twice as many lanes as the float64 exp above, and no squarings.
EXP32_LIMIT = np.float32(87.0)
LOG2E32 = np.float32(1.4426950408889634)
LN2_HI32, LN2_LO32 = np.float32(0.693359375), np.float32(-2.12194440e-4)


@intrinsic
def _power_of_two32(typingctx, n):
    """2^n as a float32, for a float32 ``n`` that holds an integer in [-126, 127]: its exponent
    bits, ``(n + 127) << 23``, read as a float (LLVM's bitcast, which vectorises)."""
    if n != types.float32:
        return None

    def codegen(context, builder, sig, args):
        i32 = ir.IntType(32)
        bits = builder.shl(builder.add(builder.fptosi(args[0], i32), ir.Constant(i32, 127)),
                           ir.Constant(i32, 23))  # fmt: skip
        return builder.bitcast(bits, ir.FloatType())

    return types.float32(types.float32), codegen


@njit(inline="always", **_OPTIONS)
def exp32(x):
    """exp of a float32 clamped to [-87, 87], in float32 arithmetic."""
    lim = EXP32_LIMIT
    x = -lim if x < -lim else (lim if x > lim else x)
    n = np.floor(x * LOG2E32 + np.float32(0.5))
    r = (x - n * LN2_HI32) - n * LN2_LO32
    p = np.float32(1.0) + r * (np.float32(1.0) + r * (np.float32(1 / 2) + r * (
        np.float32(1 / 6) + r * (np.float32(1 / 24) + r * (np.float32(1 / 120) + r * (
            np.float32(1 / 720) + r * np.float32(1 / 5040)))))))  # fmt: skip
    return p * _power_of_two32(n)


@njit(inline="always", **_OPTIONS)
def sigmoid32(x):
    """1 / (1 + exp(-x)) of a float32, in float32 arithmetic (relatively accurate where small)."""
    return np.float32(1.0) / (np.float32(1.0) + exp32(-x))


def tanh_of(x):
    """tanh in the precision of ``x``: :func:`tanh32` for float32, :func:`tanh` otherwise."""
    raise NotImplementedError("compiled code only")


def sigmoid_of(x):
    """sigmoid in the precision of ``x``: :func:`sigmoid32` for float32 (1/2 + tanh32(x/2)/2
    would be as fast but loses all relative accuracy where the sigmoid is small), else
    :func:`sigmoid`."""
    raise NotImplementedError("compiled code only")


@overload(tanh_of, jit_options=_OPTIONS)
def _tanh_of(x):
    if x == types.float32:
        return lambda x: tanh32(x)
    return lambda x: tanh(float(x))


@overload(sigmoid_of, jit_options=_OPTIONS)
def _sigmoid_of(x):
    if x == types.float32:
        return lambda x: sigmoid32(x)
    return lambda x: sigmoid(float(x))


@njit(**_OPTIONS)
def tanh_into(a, out):
    """out[i] = tanh(a[i]) for 1-D arrays (``out`` may be ``a``), in ``a``'s precision."""
    for i in range(a.shape[0]):
        out[i] = tanh_of(a[i])


@njit(**_OPTIONS)
def sigmoid_into(a, out):
    """out[i] = sigmoid(a[i]) for 1-D arrays (``out`` may be ``a``), in ``a``'s precision."""
    for i in range(a.shape[0]):
        out[i] = sigmoid_of(a[i])
