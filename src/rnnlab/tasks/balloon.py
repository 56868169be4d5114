"""The balloon-Windkessel model of the BOLD signal, in SPM's form, integrated for many voxels.

Friston, K. J., Mechelli, A., Turner, R. and Price, C. J. (2000). Nonlinear responses in fMRI:
the balloon model, Volterra kernels, and other hemodynamics. *NeuroImage*, 12, 466-477; after
Buxton, Wong and Frank (1998). The state equations are SPM's ``spm_fx_HRF.m`` and the signal
``spm_lambda_HRF.m`` (``studies_and_applications.md`` section 3.3 c)::

    ds/dt   = eps u - kappa s - gamma (f - 1)          vasodilatory signal s
    df/dt   = s                                        inflow f
    tau dv/dt = f - v^(1/alpha)                        blood volume v
    tau dq/dt = f E(f) / E0 - v^(1/alpha) q / v        deoxyhaemoglobin q,
    E(f) = 1 - (1 - E0)^(1/f)

    y = 100 V0 [k1 (1 - q) + k2 (1 - q / v) + k3 (1 - v)],  k1 = 7 E0, k2 = 2, k3 = 2 E0 - 0.2

with V0 = 0.02, in percent signal change. The parameter defaults (kappa = 0.65 / s, gamma =
0.41 / s, tau = 0.98 s, alpha = 0.32, E0 = 0.34) are those of Friston et al. (2003) that several
independent codes share. From rest (s = 0, f = v = q = 1) the model is integrated with the
classical fourth-order Runge-Kutta method at ``dt`` (0.01 s), the drive u held constant over
each of its own samples (``drive_dt``, a multiple of ``dt``), and the signal read at the end of
every ``sample_dt`` (the TR).

The time loop is compiled (numba) and runs voxel by voxel: each voxel's ODE is independent, so
the voxels are the outer loop and the arrays (V, ...) are what is vectorised.
"""

from dataclasses import dataclass

import numpy as np
from numba import njit

V0 = 0.02  # resting venous blood volume fraction (spm_lambda_HRF.m)
# A strong drive that stops suddenly swings the inflow below zero (the s-f pair is a damped
# oscillator), where E(f) and v^(1/alpha) are undefined and SPM's equations diverge. Inflow and
# volume are read as at least FLOOR there, only so that the integration stays finite and
# reports it (``lowest``): a voxel whose inflow fell below FLOOR has left the model's domain.
FLOOR = 0.01


@dataclass(frozen=True)
class BalloonParameters:
    """Per-voxel parameters (V,) of the balloon model; the defaults are scalars."""

    kappa: np.ndarray | float = 0.65  # rate of signal decay, 1/s
    gamma: np.ndarray | float = 0.41  # rate of flow-dependent elimination, 1/s
    tau: np.ndarray | float = 0.98  # haemodynamic transit time, s
    alpha: np.ndarray | float = 0.32  # Grubb's exponent
    e0: np.ndarray | float = 0.34  # resting oxygen extraction fraction
    epsilon: np.ndarray | float = 1.0  # neuronal efficacy

    def arrays(self, voxels: int) -> tuple[np.ndarray, ...]:
        """Every parameter as a float64 array (V,)."""
        names = ("kappa", "gamma", "tau", "alpha", "e0", "epsilon")
        out = []
        for name in names:
            value = np.broadcast_to(np.asarray(getattr(self, name), dtype=np.float64), (voxels,))
            if not np.all(np.isfinite(value)) or np.any(value <= 0):
                raise ValueError(f"balloon parameter {name} must be finite and > 0; got {value}")
            out.append(np.ascontiguousarray(value))
        return tuple(out)


@njit(cache=True, fastmath=True, error_model="numpy")
def _derivatives(state, u, kappa, gamma, tau, inv_alpha, e0, eps, out):
    s, f, v, q = state[0], state[1], max(state[2], FLOOR), state[3]
    f_floor = max(f, FLOOR)
    outflow = np.exp(np.log(v) * inv_alpha)  # v^(1/alpha)
    extraction = 1.0 - np.exp(np.log(1.0 - e0) / f_floor)  # E(f)
    out[0] = eps * u - kappa * s - gamma * (f - 1.0)
    out[1] = s
    out[2] = (f - outflow) / tau
    out[3] = (f_floor * extraction / e0 - outflow * q / v) / tau


@njit(cache=True, fastmath=True, error_model="numpy")
def _integrate(drive, substeps, per_sample, dt, kappa, gamma, tau, alpha, e0, eps, out, lowest):
    """RK4 of every voxel: ``drive`` (V, S) held for ``substeps`` steps each; the signal after
    every ``per_sample`` steps into ``out`` (V, samples), the lowest inflow into ``lowest``."""
    V, S = drive.shape
    samples = out.shape[1]
    state = np.empty(4)
    trial = np.empty(4)
    k1, k2, k3, k4 = np.empty(4), np.empty(4), np.empty(4), np.empty(4)
    for i in range(V):
        inv_alpha = 1.0 / alpha[i]
        state[0], state[1], state[2], state[3] = 0.0, 1.0, 1.0, 1.0
        low = 1.0
        step = 0
        written = 0
        for k in range(S):
            u = drive[i, k]
            for _ in range(substeps):
                _derivatives(state, u, kappa[i], gamma[i], tau[i], inv_alpha, e0[i], eps[i], k1)
                for j in range(4):
                    trial[j] = state[j] + 0.5 * dt * k1[j]
                _derivatives(trial, u, kappa[i], gamma[i], tau[i], inv_alpha, e0[i], eps[i], k2)
                for j in range(4):
                    trial[j] = state[j] + 0.5 * dt * k2[j]
                _derivatives(trial, u, kappa[i], gamma[i], tau[i], inv_alpha, e0[i], eps[i], k3)
                for j in range(4):
                    trial[j] = state[j] + dt * k3[j]
                _derivatives(trial, u, kappa[i], gamma[i], tau[i], inv_alpha, e0[i], eps[i], k4)
                for j in range(4):
                    state[j] += dt / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j])
                low = min(low, state[1], state[2])
                step += 1
                if step % per_sample == 0 and written < samples:
                    v, q = state[2], state[3]
                    k1c, k3c = 7.0 * e0[i], 2.0 * e0[i] - 0.2
                    out[i, written] = (
                        100.0 * V0 * (k1c * (1.0 - q) + 2.0 * (1.0 - q / v) + k3c * (1.0 - v))
                    )
                    written += 1
        lowest[i] = low


def balloon_bold(
    drive: np.ndarray,
    parameters: BalloonParameters = BalloonParameters(),
    drive_dt: float = 0.1,
    sample_dt: float = 1.0,
    dt: float = 0.01,
    lowest: np.ndarray | None = None,
) -> np.ndarray:
    """The BOLD signal (percent change) of V voxels driven by ``drive`` (V, S), from rest.

    ``drive[v, k]`` is voxel v's neural drive u over ``[k drive_dt, (k + 1) drive_dt)``; the
    result (V, S * drive_dt / sample_dt) holds the signal at ``(n + 1) sample_dt``, n = 0, 1,
    ... (the end of each sample). ``drive_dt`` and ``sample_dt`` must be multiples of ``dt``.
    ``lowest``, a float64 array (V,), receives each voxel's lowest inflow or volume: below
    :data:`FLOOR`, the voxel has left the model's domain and its signal is not SPM's.
    """
    drive = np.ascontiguousarray(drive, dtype=np.float64)
    if drive.ndim != 2:
        raise ValueError(f"drive must be (V, S); got shape {drive.shape}")
    if not np.all(np.isfinite(drive)):
        raise ValueError("drive must be finite")
    substeps, per_sample = _multiple(drive_dt, dt), _multiple(sample_dt, dt)
    V, S = drive.shape
    out = np.zeros((V, S * substeps // per_sample))
    low = np.ones(V) if lowest is None else lowest
    _integrate(drive, substeps, per_sample, dt, *parameters.arrays(V), out, low)
    return out


def _multiple(interval: float, dt: float) -> int:
    n = round(interval / dt)
    if n < 1 or abs(n * dt - interval) > 1e-9 * max(interval, 1.0):
        raise ValueError(f"intervals must be positive multiples of dt = {dt}; got {interval}")
    return n
