"""The exact references (betavae/scoring/references.py) and the model's likelihood estimates checked against them."""
import numpy as np
import pytest
import tensorflow as tf
from scipy import linalg, stats

from betavae.scoring import references as evaluation
from betavae.model.inference import encode_with_kl, grid_log_likelihood, iwae_log_likelihood
from betavae.model.layers import LOG_SCALE_MAX, LOG_SCALE_MIN
from betavae.model.distributions import gaussian_kl
from betavae.model.vae import BetaVAE
from betavae.data.families import generate


@pytest.fixture(scope="module")
def factor_data():
    data, truth = generate(dim=8, factors=2, rows=40_000, seed=11, eigenvalues=[5.0, 1.5])
    return data.astype(np.float64), truth


def test_factor_analysis_recovers_the_covariance_of_factor_data(factor_data):
    data, truth = factor_data
    loadings, psi = evaluation.factor_analysis(np.cov(data, rowvar=False, bias=True), 2)
    true_cov = np.array(truth["covariance"])
    np.testing.assert_allclose(loadings @ loadings.T + np.diag(psi), true_cov, atol=0.05 * np.abs(true_cov).max())
    np.testing.assert_allclose(psi, truth["psi"], rtol=0.15)


def test_linear_optimum_at_beta_one_equals_the_fa_likelihood(factor_data):
    data, _ = factor_data
    mean, cov = data.mean(axis=0), np.cov(data, rowvar=False, bias=True)
    loadings, psi = evaluation.factor_analysis(cov, 2)
    fa_nll = evaluation.gaussian_nll(data, mean, loadings @ loadings.T + np.diag(psi))
    optimum = evaluation.linear_beta_optimum(mean, cov, beta=1.0, latent_dim=2)
    assert optimum["objective"] == pytest.approx(fa_nll, abs=1e-5)
    assert optimum["profile_objective"] == pytest.approx(optimum["objective"], abs=1e-6)


@pytest.mark.parametrize("beta", [0.5, 2.0, 3.0, 6.0])
def test_closed_form_objective_matches_a_monte_carlo_run_of_the_linear_vae(factor_data, beta):
    data, _ = factor_data
    mean, cov = data.mean(axis=0), np.cov(data, rowvar=False, bias=True)
    model = evaluation.linear_beta_optimum(mean, cov, beta=beta, latent_dim=2)
    assert model["profile_objective"] == pytest.approx(model["objective"], abs=1e-6)
    rng = np.random.default_rng(0)
    code = (data - mean) @ model["B"].T
    z = code + np.sqrt(model["z_var"]) * rng.standard_normal(code.shape)
    residual = data - mean - z @ model["W"].T
    log_likelihood = -0.5 * np.sum(residual ** 2 / model["psi"] + np.log(2 * np.pi * model["psi"]), axis=1)
    kl = 0.5 * np.sum(model["z_var"] + code ** 2 - 1 - np.log(model["z_var"]), axis=1)
    assert np.mean(beta * kl - log_likelihood) == pytest.approx(model["objective"], abs=0.03)
    assert np.mean(kl) == pytest.approx(model["rate"], abs=1e-6 + 1e-9 * model["rate"] + 0.01)


def test_linear_optimum_collapses_every_unit_above_the_collapse_beta(factor_data):
    data, _ = factor_data
    cov = np.cov(data, rowvar=False, bias=True)
    threshold = evaluation.collapse_beta(cov)
    assert evaluation.linear_beta_optimum(data.mean(0), cov, threshold * 1.05, 2)["active_units"] == 0
    assert evaluation.linear_beta_optimum(data.mean(0), cov, threshold * 0.9, 2)["active_units"] >= 1
    assert evaluation.linear_beta_optimum(data.mean(0), cov, 1.0, 2)["active_units"] == 2


def test_frechet_distance_is_zero_for_equal_moments_and_matches_a_hand_computed_case():
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    assert evaluation.frechet_distance(np.ones(2), cov, np.ones(2), cov) == pytest.approx(0.0, abs=1e-9)
    # Diagonal covariances: |m1 - m2|^2 + sum (sqrt(a) - sqrt(b))^2 = 1 + 4 + (2 - 1)^2 + (3 - 2)^2 = 7.
    distance = evaluation.frechet_distance(np.array([1.0, 2.0]), np.diag([4.0, 9.0]),
                                           np.array([0.0, 0.0]), np.diag([1.0, 4.0]))
    assert distance == pytest.approx(7.0)


def test_frechet_distance_matches_scipy_sqrtm_for_covariances_that_do_not_commute():
    rng = np.random.default_rng(3)
    factors_a, factors_b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    cov_a, cov_b = factors_a @ factors_a.T + 0.1 * np.eye(4), factors_b @ factors_b.T + 0.1 * np.eye(4)
    mean_a, mean_b = rng.normal(size=4), rng.normal(size=4)
    expected = (np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                - 2.0 * np.trace(np.real(linalg.sqrtm(cov_a @ cov_b))))
    assert evaluation.frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected, rel=1e-9)


def test_entropy_and_gaussian_nll_agree_with_scipy():
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    assert evaluation.gaussian_entropy(cov) == pytest.approx(stats.multivariate_normal(np.zeros(2), cov).entropy())
    x = np.random.default_rng(0).normal(size=(7, 2))
    by_hand = 0.5 * (2 * np.log(2 * np.pi) + np.log(np.linalg.det(cov))
                     + np.einsum("ij,jk,ik->i", x - 1.0, np.linalg.inv(cov), x - 1.0))
    assert evaluation.gaussian_nll(x, np.ones(2), cov) == pytest.approx(by_hand.mean())
    assert evaluation.gaussian_nll(x, np.ones(2), cov) == pytest.approx(
        -stats.multivariate_normal(np.ones(2), cov).logpdf(x).mean(), rel=1e-12)
    with pytest.raises(np.linalg.LinAlgError):
        evaluation.gaussian_nll(x, np.ones(2), np.array([[1.0, 1.0], [1.0, 1.0]]))


def raw_for_log_scale(target):
    """The head output whose soft-clamped value is the target log-scale (inverse of soft_clamp)."""
    centre, half_width = 0.5 * (LOG_SCALE_MIN + LOG_SCALE_MAX), 0.5 * (LOG_SCALE_MAX - LOG_SCALE_MIN)
    return centre + half_width * np.arctanh((np.asarray(target) - centre) / half_width)


def set_linear_mlp(mlp, matrix, raw_log_scale):
    """Make a GaussianMLP compute mean = inputs @ matrix exactly (its ReLUs see only positive values thanks
    to an offset of 50 that the head removes) and a constant log-scale head output."""
    inputs, outputs = matrix.shape
    hidden = mlp.hidden_units
    mlp.hidden_1.kernel.assign(np.eye(inputs, hidden))
    mlp.hidden_1.bias.assign(np.r_[np.full(inputs, 50.0), np.zeros(hidden - inputs)])
    mlp.hidden_2.kernel.assign(np.eye(hidden))
    mlp.hidden_2.bias.assign(np.zeros(hidden))
    head = np.zeros((hidden, 2 * outputs))
    head[:inputs, :outputs] = matrix
    mlp.head.kernel.assign(head)
    mlp.head.bias.assign(np.r_[-50.0 * matrix.sum(axis=0), raw_log_scale])


def linear_gaussian_model():
    """A BetaVAE that is exactly a linear-Gaussian model x = shift + W z + noise, its encoder set to the
    exact posterior mean and marginal scales; returns (model, mean, covariance) of the model's p(x)."""
    data_dim, latent_dim = 3, 2
    tf.keras.utils.set_random_seed(0)
    shift, scale = np.array([1.0, -2.0, 0.5]), np.array([2.0, 1.0, 0.5])
    model = BetaVAE(data_dim, latent_dim, 8, shift, scale)
    projection = np.random.default_rng(1).normal(size=(latent_dim, data_dim))  # standardised units
    decoder_log_scale = -1.0
    set_linear_mlp(model.decoder, projection, np.full(data_dim, raw_for_log_scale(decoder_log_scale)))
    weights = scale[:, None] * projection.T
    noise = np.exp(2 * (np.log(scale) + decoder_log_scale))
    posterior_cov = np.linalg.inv(np.eye(latent_dim) + weights.T @ (weights / noise[:, None]))
    gain = posterior_cov @ (weights / noise[:, None]).T * scale  # acts on standardised inputs
    set_linear_mlp(model.encoder, gain.T, raw_for_log_scale(0.5 * np.log(np.diag(posterior_cov))))
    return model, shift, weights @ weights.T + np.diag(noise)


def test_iwae_and_the_prior_grid_match_the_exact_likelihood_of_a_linear_gaussian_model():
    model, mean, covariance = linear_gaussian_model()
    x = np.random.default_rng(2).multivariate_normal(mean, covariance, size=300).astype(np.float32)
    exact = -evaluation.gaussian_nll(x, mean, covariance)
    grid, entry = grid_log_likelihood(model, x)
    np.testing.assert_allclose(grid, stats.multivariate_normal(mean, covariance).logpdf(x), atol=1e-4)  # per row
    assert entry["resolved"] and entry["spacing"] <= entry["posterior_scale"]
    iwae = iwae_log_likelihood(model, x, 2000, seed=0)
    assert np.mean(iwae) == pytest.approx(exact, abs=0.01)
    assert np.mean(iwae_log_likelihood(model, x, 1, seed=0)) < np.mean(iwae)  # K = 1 is the looser ELBO


def test_kl_per_dimension_sums_to_the_kl():
    model, _, _ = linear_gaussian_model()
    x = np.random.default_rng(3).normal(size=(50, 3)).astype(np.float32)
    means, kl_by_dim = encode_with_kl(model, x)
    z_mean, z_log_scale = model.encode(tf.constant(x))
    np.testing.assert_allclose(kl_by_dim.sum(axis=1), gaussian_kl(z_mean, z_log_scale).numpy(), rtol=1e-5)
    np.testing.assert_allclose(means, z_mean.numpy(), atol=5e-5)  # float32 around the offset of 50
