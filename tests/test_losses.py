"""The loss terms against independent computations: Monte Carlo, scipy.stats and known values."""
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from betavae.model.objectives import beta_objective
from betavae.model.distributions import gaussian_kl, gaussian_log_density
from betavae.model.vae import weighted_means


def test_kl_of_unit_mean_over_ten_dimensions_is_five():
    assert gaussian_kl(tf.ones([1, 10]), tf.zeros([1, 10])).numpy() == pytest.approx([5.0])


def test_kl_matches_monte_carlo_estimate():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(3, 2)).astype(np.float32)
    log_scale = rng.normal(scale=0.5, size=(3, 2)).astype(np.float32)
    z = mean + np.exp(log_scale) * rng.standard_normal((200_000, 3, 2))
    log_q = stats.norm.logpdf(z, mean, np.exp(log_scale)).sum(-1)
    log_p = stats.norm.logpdf(z).sum(-1)
    monte_carlo = (log_q - log_p).mean(axis=0)
    np.testing.assert_allclose(gaussian_kl(mean, log_scale).numpy(), monte_carlo, atol=0.02)


def test_log_density_matches_scipy_multivariate_normal():
    rng = np.random.default_rng(1)
    x, mean = rng.normal(size=(2, 5, 4))
    log_scale = rng.normal(scale=0.7, size=(5, 4))
    expected = [stats.multivariate_normal(mean[i], np.diag(np.exp(2 * log_scale[i]))).logpdf(x[i])
                for i in range(5)]
    got = gaussian_log_density(tf.constant(x), tf.constant(mean), tf.constant(log_scale)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_beta_scales_only_the_kl_term():
    kl = tf.constant([1.0, 3.0])
    log_likelihood = tf.constant([-10.0, -20.0])
    base = beta_objective(kl, log_likelihood, 0.0).numpy()
    np.testing.assert_allclose(base, [10.0, 20.0])
    for beta in (0.5, 1.0, 4.0):
        np.testing.assert_allclose(beta_objective(kl, log_likelihood, beta).numpy(), base + beta * kl.numpy())


def test_weighted_means_ignore_padding_rows():
    values = tf.constant([1.0, 2.0, 3.0, 1e6])
    np.testing.assert_allclose(weighted_means(tf.constant([1.0, 1.0, 1.0, 0.0]), values).numpy(), [2.0])
