"""The best diagonal Gaussian of each row by a deterministic rule (scoring.posterior_fit): exact rules, the
fit's optimum on a Gaussian posterior, and a row whose fit ends below its start keeping the start."""
import numpy as np
import pytest
from scipy import stats

from betavae.scoring import posterior_fit


def test_the_rules_integrate_a_standard_normals_moments_exactly():
    for rule in (posterior_fit.rule_for(1), posterior_fit.rule_for(2), posterior_fit.rule_for(3, seed=5)):
        t, w = rule.points, rule.weights
        assert w.sum() == pytest.approx(1.0) and rule.nodes == len(t)
        np.testing.assert_allclose(w @ t, 0.0, atol=1e-12)
        np.testing.assert_allclose(w @ t ** 2, 1.0, rtol=1e-12)
    t, w = posterior_fit.gauss_hermite(2, 4).points, posterior_fit.gauss_hermite(2, 4).weights
    assert w @ (t[:, 0] ** 4 * t[:, 1] ** 6) == pytest.approx(3.0 * 15.0)  # degree < 8 per axis: exact


def gaussian_joint(mean, precision, rows):
    """log N(z; mean_r, precision^-1) for each row r (its posterior, up to log p(x) = 0) and the gradient."""
    def joint(z):
        centred = z - mean
        values = stats.multivariate_normal(np.zeros(len(precision)), np.linalg.inv(precision)).logpdf(
            centred.reshape(-1, len(precision))).reshape(z.shape[:-1])
        return values, -centred @ precision
    return joint


def test_the_fit_finds_the_best_diagonal_gaussian_of_a_correlated_gaussian_posterior():
    precision = np.array([[4.0, -1.5], [-1.5, 1.0]])  # unequal scales, a negative correlation
    centres = np.random.default_rng(0).normal(size=(6, 2)) * [1.0, -2.0]
    joint = gaussian_joint(centres, precision, 6)
    start = (np.zeros((6, 2)), np.full((6, 2), 0.7))
    best = posterior_fit.best_diagonal_gaussians(joint, [start], posterior_fit.rule_for(2))
    # the best diagonal q has the posterior's mean and variances 1 / P_jj; the ELBO falls short of log p(x) = 0
    # by 1/2 (log P_11 + log P_22 - log det P)
    np.testing.assert_allclose(best["mean"], centres, atol=1e-4)
    np.testing.assert_allclose(np.exp(-2 * best["log_scale"]), np.broadcast_to(np.diag(precision), (6, 2)), rtol=1e-4)
    shortfall = 0.5 * (np.log(4.0) + np.log(1.0) - np.log(4.0 - 1.5 ** 2))
    np.testing.assert_allclose(-best["elbo"], shortfall, atol=1e-7)
    assert posterior_fit.diagonal_shortfall(precision) == pytest.approx(shortfall)
    assert np.all(best["start_elbo"] < best["elbo"]) and best["kept_start"] == 0


def test_a_row_whose_fit_ends_below_its_start_keeps_the_start(monkeypatch):
    # a quadratic log-joint (posterior N(1, 0.5^2) per row, up to a constant); the fit is replaced by one that
    # ends worse than the start on rows 0 and 2, as a joint L-BFGS step may for a single row
    joint = lambda z: (-2.0 * (z[..., 0] - 1.0) ** 2, -4.0 * (z - 1.0))  # noqa: E731
    start = (np.full((4, 1), 0.9), np.full((4, 1), np.log(0.5)))
    worse = np.array([True, False, True, False])[:, None]
    rule = posterior_fit.rule_for(1)

    def unlucky_fit(log_joint, mean, log_scale, rule, max_steps):
        moved = np.where(worse, mean + 3.0, 1.0)  # rows 1 and 3 onto the mode, rows 0 and 2 far off it
        return moved, log_scale, posterior_fit.elbo_and_gradient(log_joint, moved, log_scale, rule)[0], 1

    monkeypatch.setattr(posterior_fit, "fit", unlucky_fit)
    best = posterior_fit.best_diagonal_gaussians(joint, [start], rule)
    assert best["kept_start"] == 2 and np.all(best["elbo"] >= best["start_elbo"])
    np.testing.assert_allclose(best["mean"][:, 0], [0.9, 1.0, 0.9, 1.0])
    assert best["elbo"][1] > best["start_elbo"][1]


def test_each_row_is_fitted_from_its_better_start():
    # two modes per row, at -2 (higher) and +2, each of scale 1/4: row 0 starts nearer the top of the lower
    # one, row 1 of the higher one; a fit from the better start stays in that start's mode
    def joint(z):
        z = z[..., 0]
        high, low = -8.0 * (z + 2.0) ** 2, -8.0 * (z - 2.0) ** 2 - 1.0
        top = np.maximum(high, low)
        value = top + np.log(np.exp(high - top) + np.exp(low - top))
        weight = np.exp(high - value)
        return value, (weight * -16.0 * (z + 2.0) + (1 - weight) * -16.0 * (z - 2.0))[..., None]
    near_low = (np.array([[1.8], [1.8]]), np.full((2, 1), -1.0))
    near_high = (np.array([[-1.0], [-1.9]]), np.full((2, 1), -1.0))
    best = posterior_fit.best_diagonal_gaussians(joint, [near_low, near_high], posterior_fit.rule_for(1))
    np.testing.assert_allclose(best["mean"][:, 0], [2.0, -2.0], atol=1e-3)
    np.testing.assert_allclose(best["log_scale"][:, 0], np.log(0.25), atol=1e-3)
