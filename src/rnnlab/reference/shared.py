"""What the NumPy reference networks share: the logistic function, a linear map, and the
checks at their boundary."""

from collections.abc import Mapping

import numpy as np

PARAMETER_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def sigmoid(a: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-a))``, computed without overflow.

    ``exp(-a)`` overflows for large negative ``a``; with ``e = exp(-|a|) <= 1`` the same value
    is ``1 / (1 + e)`` for ``a >= 0`` and ``e / (1 + e)`` for ``a < 0``.
    """
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def linear(v: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``W v + b`` for a batch of row vectors ``v`` (B, n): ``v @ W.T + b``, (B, m)."""
    out = v @ weight.T
    if bias is not None:
        out = out + bias
    return out


def check_sequence(x: object) -> np.ndarray:
    """Return ``x`` as a float64 array of shape (B, T, I), else raise a ValueError."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(
            f"x must have shape (B, T, I) (batch first); got {x.ndim} dimensions, shape {x.shape}"
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have at least one sequence and one step; got shape {x.shape}")
    return x


def check_array(name: str, value: object, shape: tuple[int, ...], meaning: str) -> np.ndarray:
    """Return ``value`` as a float64 array of ``shape``, else raise a ValueError.

    ``meaning`` is the shape in symbols, such as ``"(B, H)"``, for the message.
    """
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {meaning} = {shape}; got {array.shape}")
    return array


def check_params(
    params: object, gates: int, input_size: int, extra_names: tuple[str, ...] = ()
) -> tuple[dict[str, np.ndarray | None], int]:
    """Check torch.nn-style parameters for a cell with ``gates`` stacked blocks of H rows.

    ``weight_ih`` must be (gates*H, I), ``weight_hh`` (gates*H, H) and each bias None (or
    absent) or (gates*H,). Names in ``extra_names`` are allowed and passed through unchecked.

    Returns:
        The parameters as float64 arrays (or None), every name present, and H.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays; got {type(params).__name__}")
    allowed = PARAMETER_NAMES + extra_names
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"params has unknown names {unknown}; expected names among {allowed}")
    for name in ("weight_ih", "weight_hh"):
        if params.get(name) is None:
            raise ValueError(f"params must contain {name!r}; got names {sorted(params)}")
    rows = "H" if gates == 1 else f"{gates}H"
    weight_hh = np.asarray(params["weight_hh"], dtype=np.float64)
    if weight_hh.ndim != 2 or weight_hh.shape[0] != gates * weight_hh.shape[1]:
        raise ValueError(f"weight_hh must have shape ({rows}, H); got {weight_hh.shape}")
    H = weight_hh.shape[1]
    checked: dict[str, np.ndarray | None] = {
        "weight_ih": check_array(
            "weight_ih", params["weight_ih"], (gates * H, input_size), f"({rows}, I)"
        ),
        "weight_hh": weight_hh,
    }
    for name in ("bias_ih", "bias_hh"):
        value = params.get(name)
        if value is not None:
            value = check_array(name, value, (gates * H,), f"({rows},)")
        checked[name] = value
    for name in extra_names:
        checked[name] = params.get(name)
    return checked, H
