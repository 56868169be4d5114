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
absolute error below 2e-14 for tanh and sigmoid. Everything is computed in float64 whatever the
arrays' dtype, so float32 results are within an ulp or so of the correctly rounded ones. Beyond
the clamp tanh is +-1 and sigmoid 0 or 1 to well within those errors (exp(-40) is 4e-18). NaN
propagates.
"""

from numba import njit

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


@njit(**_OPTIONS)
def tanh_into(a, out):
    """out[i] = tanh(a[i]) for 1-D arrays (``out`` may be ``a``)."""
    for i in range(a.shape[0]):
        out[i] = tanh(float(a[i]))


@njit(**_OPTIONS)
def sigmoid_into(a, out):
    """out[i] = sigmoid(a[i]) for 1-D arrays (``out`` may be ``a``)."""
    for i in range(a.shape[0]):
        out[i] = sigmoid(float(a[i]))
