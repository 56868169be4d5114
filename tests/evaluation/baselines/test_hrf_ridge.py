"""The HRF-convolution ridge models against closed forms: SPM's double-gamma HRF (scipy), exact
lags, a ridge that recovers a known linear-convolution signal, penalties chosen per voxel."""

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import Ridge

from rnnlab.evaluation.baselines.hrf_ridge import ALPHAS, design, fit_ridge, hrf_basis
from rnnlab.tasks.bold_simulation import pearson_columns


def test_canonical_basis_is_spm_double_gamma():
    t = np.arange(32.0)
    h = stats.gamma.pdf(t, 6) - stats.gamma.pdf(t, 16) / 6
    np.testing.assert_allclose(hrf_basis("R-C")[:, 0], h / h.sum(), atol=2e-3)


def test_derivatives_are_finite_differences_of_the_canonical_hrf():
    """nilearn's time derivative: (h(t) - h(t - 0.1)) / 0.1 of the canonical HRF, ~ h'(t)."""
    basis = hrf_basis("R-CTD")
    t = np.arange(32.0)

    def h(times, dispersion=1.0):
        return (stats.gamma.pdf(times, 6 / dispersion, scale=dispersion)
                - stats.gamma.pdf(times, 16) / 6)  # fmt: skip

    total = h(np.arange(0, 32, 0.01)).sum() * 0.01
    derivative = (h(t) - h(t - 0.1)) / 0.1 / total
    np.testing.assert_allclose(basis[:, 1], derivative, atol=3e-3)
    # nilearn's sign: the canonical HRF minus the one of dispersion 1.01, over 0.01
    assert np.corrcoef(basis[:, 2], h(t) - h(t, 1.01))[0, 1] > 0.99


def test_fir_design_is_the_features_lagged():
    x = np.random.default_rng(0).random((2, 20, 3))
    X = design("R-F", x)
    assert X.shape == (2, 20, 12)
    np.testing.assert_array_equal(X[:, 3:, 0:3], x[:, :-3])  # lag 3
    np.testing.assert_array_equal(X[:, 6:, 9:12], x[:, :-6])  # lag 6
    assert (X[:, :6, 9:12] == 0).all()


@pytest.mark.parametrize("model", ["R-C", "R-F"])
def test_ridge_recovers_a_signal_of_its_own_form(model):
    """Responses that are exactly the model's regressors times weights, plus little noise: the
    test-run prediction correlates > 0.99 with the noise-free signal. Each voxel's penalty is
    the one of lowest validation MSE, and its prediction is a ridge of that penalty fitted to
    that voxel alone (scikit-learn, on the regressors z-scored by hand)."""
    rng = np.random.default_rng(1)
    x = rng.random((5, 200, 4))
    X = design(model, x)
    w = rng.normal(size=(X.shape[2], 3))
    clean = X @ w
    y = clean + 0.05 * clean.std() * rng.normal(size=clean.shape)
    y = np.concatenate([y, rng.normal(size=(5, 200, 1))], 2)  # voxel 3: noise only
    fit = fit_ridge(model, x, y)
    assert (pearson_columns(fit.predictions[-1][:, :3], clean[-1]) > 0.99).all()
    assert fit.predictions.shape == y.shape and fit.validation_mse.shape == (15, 4)
    np.testing.assert_array_equal(fit.alphas, ALPHAS[fit.validation_mse.argmin(0)])
    Z = (X - X[:3].mean((0, 1))) / X[:3].std((0, 1))
    alone = Ridge(alpha=fit.alphas[3]).fit(Z[:3].reshape(-1, Z.shape[2]), y[:3, :, 3].ravel())
    np.testing.assert_allclose(fit.predictions[-1][:, 3], alone.predict(Z[-1]), atol=1e-8)


def test_unknown_model_and_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="R-C"):
        hrf_basis("R-X")
    with pytest.raises(ValueError, match=r"\(R, T, F\)"):
        design("R-C", np.zeros((10, 3)))
