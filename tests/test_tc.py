"""The beta-TCVAE penalty (betavae.model.tc): at alpha = beta = gamma = 1 it is the single-sample KL, so the
objective is the negative ELBO; padding rows change nothing; the densities equal a direct computation; codes
whose aggregate posterior factorises have a total correlation near 0."""
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from betavae.model.tc import tc_penalty, tc_terms
from betavae.model.distributions import DiagonalGaussian, gaussian_log_density
from betavae.model.vae import BetaVAE, weighted_means


def batch(rows=6, dims=3, seed=0):
    rng = np.random.default_rng(seed)
    mean, log_scale = rng.standard_normal((rows, dims)), rng.uniform(-1.5, 0.5, (rows, dims))
    z = mean + np.exp(log_scale) * rng.standard_normal((rows, dims))
    return z.astype(np.float32), mean.astype(np.float32), log_scale.astype(np.float32)


def test_the_densities_equal_a_direct_computation():
    """Every real row's posterior weighs 1/B in the estimate of q(z) and of each q(z_j)."""
    z, mean, log_scale = batch()
    terms = tc_terms(tf.constant(z), DiagonalGaussian(tf.constant(mean), tf.constant(log_scale)), tf.ones([6]))
    log_qz, log_prod = [], []
    for i in range(6):
        per_dim = np.array([stats.norm.pdf(z[i], mean[j], np.exp(log_scale[j])) for j in range(6)])  # [j, d]
        log_qz.append(np.log(np.mean(per_dim.prod(axis=1))))
        log_prod.append(np.sum(np.log(per_dim.mean(axis=0))))
    np.testing.assert_allclose(terms["log_qz"], log_qz, rtol=1e-5)
    np.testing.assert_allclose(terms["log_prod_qzj"], log_prod, rtol=1e-5)
    np.testing.assert_allclose(terms["log_qz_x"], stats.norm.logpdf(z, mean, np.exp(log_scale)).sum(axis=1),
                               rtol=1e-5)
    np.testing.assert_allclose(terms["log_pz"], stats.norm.logpdf(z).sum(axis=1), rtol=1e-5)


def test_independent_codes_have_a_total_correlation_near_zero():
    """Codes whose aggregate posterior factorises (independent means, equal scales) have TC ~ 0 and MI ~ its
    value: an estimator weighing every row 1 / (N B) reads TC as (d - 1) log N more, 2 log 1e5 = 23 nats."""
    rng = np.random.default_rng(5)
    mean = rng.standard_normal((400, 3)).astype(np.float32)
    log_scale = np.full((400, 3), -1.0, np.float32)
    z = (mean + np.exp(log_scale) * rng.standard_normal((400, 3))).astype(np.float32)
    terms = tc_terms(tf.constant(z), DiagonalGaussian(tf.constant(mean), tf.constant(log_scale)), tf.ones([400]))
    # the estimate's own bias is a few tenths of a nat at 400 rows
    assert abs(float(tf.reduce_mean(terms["tc"]))) < 0.5
    # the means' 3 dims of variance 1 against noise e^-2: MI = 1.5 log(1 + e^2) = 3.03 nats
    assert float(tf.reduce_mean(terms["mi"])) == pytest.approx(1.5 * np.log1p(np.exp(2)), abs=0.4)


def test_one_real_row_is_its_own_aggregate_posterior():
    z, mean, log_scale = batch(rows=3)
    terms = tc_terms(tf.constant(z), DiagonalGaussian(tf.constant(mean), tf.constant(log_scale)),
                     tf.constant([1.0, 0.0, 0.0]))
    assert float(terms["mi"][0]) == pytest.approx(0.0, abs=1e-5)
    assert float(terms["tc"][0]) == pytest.approx(0.0, abs=1e-5)


def test_at_unit_weights_the_penalty_is_the_single_sample_kl_and_the_objective_the_negative_elbo():
    model = BetaVAE(4, 3, 8, [0.0] * 4, [1.0] * 4)
    x = tf.constant(np.random.default_rng(1).standard_normal((16, 4)), tf.float32)
    z_mean, z_log_scale = model.encode(x)
    z = model.posterior(x).sample(tf.random.stateless_normal([16, 3], seed=[3, 4]))
    x_mean, x_log_scale = model.decode(z)
    log_likelihood = gaussian_log_density(x, x_mean, x_log_scale)
    terms = tc_terms(z, DiagonalGaussian(z_mean, z_log_scale), tf.ones([16]))
    penalty = tc_penalty(terms, 1.0, 1.0, 1.0)
    single_sample_kl = terms["log_qz_x"] - terms["log_pz"]
    np.testing.assert_allclose(penalty, single_sample_kl, atol=1e-5)
    np.testing.assert_allclose(single_sample_kl, gaussian_log_density(z, z_mean, z_log_scale)
                               + 0.5 * tf.reduce_sum(tf.square(z) + np.log(2 * np.pi), axis=-1), atol=1e-5)
    negative_elbo = -tf.reduce_mean(log_likelihood - single_sample_kl)
    assert float(tf.reduce_mean(penalty - log_likelihood)) == pytest.approx(float(negative_elbo), abs=1e-5)
    weighted = tc_penalty(terms, 2.0, 5.0, 0.5)
    np.testing.assert_allclose(weighted, 2 * terms["mi"] + 5 * terms["tc"] + 0.5 * terms["dimension_wise_kl"],
                               atol=1e-5)


def test_padding_rows_change_nothing():
    z, mean, log_scale = batch(rows=5)
    junk = batch(rows=3, seed=9)  # padded rows hold other values, as epoch_order's row 0 at weight 0 would
    padded = [tf.constant(np.concatenate([real, extra])) for real, extra in zip((z, mean, log_scale), junk)]
    weights = tf.constant([1.0] * 5 + [0.0] * 3)
    plain = tc_terms(tf.constant(z), DiagonalGaussian(tf.constant(mean), tf.constant(log_scale)), tf.ones([5]))
    with_padding = tc_terms(padded[0], DiagonalGaussian(*padded[1:]), weights)
    for name, values in plain.items():
        np.testing.assert_allclose(with_padding[name][:5], values, rtol=1e-6, err_msg=name)
    means = weighted_means(weights, tc_penalty(with_padding, 1.0, 6.0, 1.0))
    assert float(means[0]) == pytest.approx(float(tf.reduce_mean(tc_penalty(plain, 1.0, 6.0, 1.0))), rel=1e-6)
    variables = [tf.Variable(tensor) for tensor in padded[1:]]
    with tf.GradientTape() as tape:
        parts = tc_terms(padded[0], DiagonalGaussian(*variables), weights)
        loss = weighted_means(weights, tc_penalty(parts, 1.0, 6.0, 1.0))[0]
    gradients = tape.gradient(loss, variables)
    assert all(np.all(np.isfinite(gradient)) for gradient in gradients)
    assert all(np.all(gradient.numpy()[5:] == 0) for gradient in gradients)  # padding rows get no gradient


def test_several_draws_per_row_go_on_leading_axes():
    z, mean, log_scale = batch()
    draws = np.stack([z, z[::-1]])
    posterior = DiagonalGaussian(tf.constant(mean), tf.constant(log_scale))
    together = tc_terms(tf.constant(draws), posterior, tf.ones([6]))
    second = tc_terms(tf.constant(z[::-1]), posterior, tf.ones([6]))
    np.testing.assert_allclose(together["tc"][1], second["tc"], rtol=1e-6)
