"""The classical response models of fMRI encoding: features convolved with a haemodynamic
response function (or lagged), then a ridge regression per voxel.

The three ridge models of Güçlü & van Gerven (2017, Fig. 1), built from the field's libraries:

- ``"R-C"``: each feature convolved with SPM's canonical HRF (F regressors);
- ``"R-CTD"``: the canonical HRF, its time derivative and its dispersion derivative (3 F);
- ``"R-F"``: the features lagged by 3, 4, 5 and 6 s and concatenated (4 F, FIR-like).

The HRFs are nilearn's (``nilearn.glm.first_level.spm_hrf``, ``spm_time_derivative``,
``spm_dispersion_derivative``), computed on nilearn's oversampled grid (``OVERSAMPLING`` per
TR) and read at every TR. nilearn's time derivative is the finite difference for a 0.1-s onset
shift, divided by 0.1 s (SPM's ``spm_get_bf`` shifts by 1 s); its dispersion derivative the
finite difference for a 0.01 change of the dispersion (SPM's). We use nilearn's as they are:
the derivative regressors span, to first order, the same shifts and widenings. nilearn is
imported inside the functions (about 5 s): ``pip install rnnlab[neuro]``.

Every run is convolved (or lagged) on its own, from silence before its start. The regressors
are z-scored with the training runs' statistics. The ridge penalty is chosen per voxel on the
validation run from ``ALPHAS`` (logspace(-2, 5, 15), the lowest validation MSE), and the
model is fitted on the training runs with each voxel's own penalty (scikit-learn's ``Ridge``
takes one alpha per target).
"""

from dataclasses import dataclass

import numpy as np

MODELS = ("R-C", "R-CTD", "R-F")
ALPHAS = np.logspace(-2, 5, 15)
LAGS = (3, 4, 5, 6)  # s, for R-F
OVERSAMPLING = 100  # nilearn's grid per TR
HRF_SECONDS = 32.0


def hrf_basis(model: str, tr: float = 1.0) -> np.ndarray:
    """(K, B) the HRF basis of ``model`` sampled at 0, tr, ... (K = 32 s / tr): one column
    for R-C, three for R-CTD (canonical, time derivative, dispersion derivative)."""
    from nilearn.glm.first_level import (
        spm_dispersion_derivative,
        spm_hrf,
        spm_time_derivative,
    )

    functions = {"R-C": (spm_hrf,),
                 "R-CTD": (spm_hrf, spm_time_derivative, spm_dispersion_derivative)}  # fmt: skip
    if model not in functions:
        raise ValueError(f"the HRF models are {list(functions)}; got {model!r}")
    columns = []
    for function in functions[model]:
        fine = function(tr, oversampling=OVERSAMPLING, time_length=HRF_SECONDS)
        columns.append(fine[::OVERSAMPLING] * OVERSAMPLING)  # one sample per TR, sum ~ 1
    return np.stack(columns, 1)


def design(model: str, features: np.ndarray, tr: float = 1.0) -> np.ndarray:
    """(R, T, P) the regressors of ``model`` for features (R, T, F), run by run."""
    if features.ndim != 3:
        raise ValueError(f"features must be (R, T, F); got shape {features.shape}")
    R, T, F = features.shape
    if model == "R-F":
        lagged = []
        for lag in LAGS:
            steps = round(lag / tr)
            shifted = np.zeros_like(features)
            shifted[:, steps:] = features[:, : T - steps]
            lagged.append(shifted)
        return np.concatenate(lagged, 2)
    basis = hrf_basis(model, tr)  # (K, B)
    out = np.zeros((R, T, F * basis.shape[1]))
    for b in range(basis.shape[1]):
        for r in range(R):
            for f in range(F):
                out[r, :, b * F + f] = np.convolve(features[r, :, f], basis[:, b])[:T]
    return out


@dataclass(frozen=True)
class RidgeFit:
    """A fitted ridge response model: its name, each voxel's penalty (V,), the validation MSE
    per penalty (A, V) and the predictions (R, T, V) of every run (in the responses' units)."""

    model: str
    alphas: np.ndarray
    validation_mse: np.ndarray
    predictions: np.ndarray
    coefficients: np.ndarray  # (V, P) on the z-scored regressors


def fit_ridge(model: str, features: np.ndarray, responses: np.ndarray, tr: float = 1.0,
              alphas: np.ndarray = ALPHAS) -> RidgeFit:  # fmt: skip
    """Fit ``model`` to runs of features (R, T, F) and responses (R, T, V): the last run is
    the test run, the one before it validation, the rest training."""
    from sklearn.linear_model import Ridge

    if responses.ndim != 3 or responses.shape[:2] != features.shape[:2]:
        raise ValueError(
            f"responses must be (R, T, V) with the features' (R, T) = {features.shape[:2]}; "
            f"got {responses.shape}"
        )
    X = design(model, features, tr)  # (R, T, P)
    R, T, P = X.shape
    train = slice(0, R - 2)
    mean = X[train].mean((0, 1))
    sd = X[train].std((0, 1))
    X = (X - mean) / np.where(sd > 0, sd, 1.0)
    x_train, y_train = X[train].reshape(-1, P), responses[train].reshape(-1, responses.shape[2])
    x_val, y_val = X[-2], responses[-2]
    mse = np.stack([
        ((Ridge(alpha=a).fit(x_train, y_train).predict(x_val) - y_val) ** 2).mean(0)
        for a in alphas
    ])  # (A, V)  # fmt: skip
    chosen = alphas[mse.argmin(0)]
    ridge = Ridge(alpha=chosen).fit(x_train, y_train)
    predictions = ridge.predict(X.reshape(-1, P)).reshape(R, T, -1)
    return RidgeFit(model, chosen, mse, predictions, ridge.coef_)
