"""The model's distributions as objects (betavae.model.distributions): the diagonal Gaussian posterior and the
Gaussian likelihood against scipy, the closed-form KL against a Monte-Carlo one and the Monte-Carlo fallback
against the closed form, and a posterior family registered here, in the test alone, that trains through the
real Trainer with the Monte-Carlo KL. Each check is also shown to catch a bug made by hand for it."""
import dataclasses
import json
import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from betavae.config import config_from_dict
from betavae.data import loading
from betavae.fields import BY_NAME
from betavae.model import distributions
from betavae.model.distributions import (LIKELIHOODS, POSTERIORS, PRIOR, DiagonalGaussian, GaussianLikelihood,
                                         Posterior, register_posterior)
from betavae.model.objectives import BetaObjective
from betavae.model.vae import BetaVAE, Trainer, batch_terms, make_optimizer
from conftest import factor_data_array, run_config_for

ROWS, DIMS = 5, 3  # unequal, so that an axis mix-up shows


def parameters(rows=ROWS, dims=DIMS, seed=0):
    """Means of both signs (most negative) and log-scales of both signs, float32."""
    rng = np.random.default_rng(seed)
    mean = rng.uniform(-3.0, 1.0, (rows, dims)).astype(np.float32)
    log_scale = rng.uniform(-1.5, 0.8, (rows, dims)).astype(np.float32)
    return mean, log_scale


def log_prob_error(posterior_class, samples=4):
    """The largest |log q(z|x) - scipy's multivariate normal| over draws z [samples, rows, dims]: the
    log_prob of each row's posterior and of leading sample axes."""
    mean, log_scale = parameters()
    z = np.random.default_rng(1).normal(-1.0, 2.0, (samples, ROWS, DIMS)).astype(np.float32)
    got = posterior_class(tf.constant(mean), tf.constant(log_scale)).log_prob(tf.constant(z)).numpy()
    assert got.shape == (samples, ROWS)
    expected = np.stack([stats.multivariate_normal(mean[r], np.diag(np.exp(2.0 * log_scale[r].astype(float))))
                         .logpdf(z[:, r]) for r in range(ROWS)], axis=1)
    return np.abs(got - expected).max()


class MissingLogScale(DiagonalGaussian):
    """A bug made by hand: the log-density without the -log sigma of its normaliser."""

    def log_prob(self, z):
        standardized = (z - self.loc) * tf.exp(-self.log_scale)
        return -0.5 * tf.reduce_sum(tf.square(standardized) + distributions.LOG_2PI, axis=-1)


def test_the_gaussian_posteriors_log_prob_is_scipys_multivariate_normal_and_catches_a_missing_log_scale():
    assert log_prob_error(DiagonalGaussian) < 1e-4
    assert log_prob_error(MissingLogScale) > 0.5


def test_log_prob_per_dim_is_scipys_normal_and_broadcasts_a_sample_against_every_rows_posterior():
    mean, log_scale = parameters()
    posterior = DiagonalGaussian(tf.constant(mean), tf.constant(log_scale))
    z = np.random.default_rng(2).normal(size=(ROWS, DIMS)).astype(np.float32)
    per_dim = posterior.log_prob_per_dim(tf.constant(z)).numpy()
    np.testing.assert_allclose(per_dim, stats.norm(mean, np.exp(log_scale)).logpdf(z), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(per_dim.sum(axis=-1), posterior.log_prob(tf.constant(z)), rtol=1e-5, atol=1e-5)
    pairs = posterior.log_prob_per_dim(tf.constant(z[:, None, :])).numpy()  # [i, j, d]: z_i under q(.|x_j)
    assert pairs.shape == (ROWS, ROWS, DIMS)
    np.testing.assert_allclose(pairs, stats.norm(mean[None], np.exp(log_scale)[None]).logpdf(z[:, None]),
                               rtol=1e-5, atol=1e-5)


def test_the_prior_is_the_standard_normal():
    z = np.random.default_rng(3).normal(0.0, 2.0, (4, ROWS, DIMS)).astype(np.float32)
    np.testing.assert_allclose(PRIOR.log_prob(tf.constant(z)), stats.norm.logpdf(z).sum(axis=-1), rtol=1e-5)
    np.testing.assert_allclose(PRIOR.log_prob_per_dim(tf.constant(z)), stats.norm.logpdf(z), rtol=1e-5)
    assert PRIOR.sample(z) is z


def monte_carlo_draws(posterior, count=100_000, seed=5):
    noise = tf.random.stateless_normal([count, ROWS, DIMS], seed=[seed, 0])
    return posterior.sample(noise)


class FlippedLogScaleKL(DiagonalGaussian):
    """A bug made by hand: the closed-form KL with +2 log sigma where it has -2 log sigma."""

    def kl_to_prior(self, samples=None, log_draw_weights=None):
        return 0.5 * tf.reduce_sum(tf.square(self.loc) + tf.exp(2.0 * self.log_scale) - 1.0 + 2.0 * self.log_scale,
                                   axis=-1)


def closed_form_against_monte_carlo(posterior_class):
    """The closed-form KL per row and the Monte-Carlo one from 100k draws of the posterior itself (the
    log-densities scipy's, not the family's), with that estimate's standard error."""
    mean, log_scale = parameters()
    posterior = posterior_class(tf.constant(mean), tf.constant(log_scale))
    z = monte_carlo_draws(posterior).numpy().astype(float)
    log_ratio = (stats.norm(mean, np.exp(log_scale.astype(float))).logpdf(z) - stats.norm.logpdf(z)).sum(axis=-1)
    return posterior.kl_to_prior().numpy(), log_ratio.mean(axis=0), log_ratio.std(axis=0) / np.sqrt(len(z))


def test_the_closed_form_kl_is_the_monte_carlo_kl_of_its_own_samples_and_catches_a_flipped_log_scale():
    closed, monte_carlo, error = closed_form_against_monte_carlo(DiagonalGaussian)
    assert np.all(np.abs(closed - monte_carlo) < 5 * error + 1e-4), (closed, monte_carlo, error)
    closed, monte_carlo, error = closed_form_against_monte_carlo(FlippedLogScaleKL)
    assert np.any(np.abs(closed - monte_carlo) > 100 * error)


def flipped_monte_carlo(posterior, samples):
    """A bug made by hand in the fallback: E[log p(z) - log q(z|x)] where the KL is E[log q(z|x) - log p(z)]."""
    return tf.reduce_mean(PRIOR.log_prob(samples) - posterior.log_prob(samples), axis=0)


def test_the_monte_carlo_fallback_agrees_with_the_closed_form_and_catches_a_flipped_sign():
    mean, log_scale = parameters()
    posterior = DiagonalGaussian(tf.constant(mean), tf.constant(log_scale))
    z = monte_carlo_draws(posterior)
    fallback = Posterior.kl_to_prior(posterior, z).numpy()  # the base class's estimator on this family
    closed = posterior.kl_to_prior().numpy()
    np.testing.assert_allclose(fallback, closed, rtol=0.02, atol=0.01)
    per_dim = Posterior.kl_to_prior_per_dim(posterior, z).numpy()
    np.testing.assert_allclose(per_dim, posterior.kl_to_prior_per_dim().numpy(), rtol=0.02, atol=0.01)
    np.testing.assert_allclose(posterior.kl_to_prior_per_dim().numpy().sum(axis=-1), closed, rtol=1e-6)
    flipped = flipped_monte_carlo(posterior, z).numpy()
    assert np.all(np.abs(flipped - closed) > 1.0)
    with pytest.raises(ValueError, match="no closed-form KL; give samples"):
        Posterior.kl_to_prior(posterior)


def likelihood_error(likelihood_class):
    rng = np.random.default_rng(6)
    mean = rng.normal(-20.0, 5.0, (2, ROWS, 4)).astype(np.float32)  # a leading axis of draws, as the model's
    log_scale = rng.uniform(-2.0, 2.0, (2, ROWS, 4)).astype(np.float32)
    x = rng.normal(-20.0, 5.0, (ROWS, 4)).astype(np.float32)
    got = likelihood_class(tf.constant(mean), tf.constant(log_scale)).log_prob(tf.constant(x)).numpy()
    expected = stats.norm(mean, np.exp(log_scale)).logpdf(x).sum(axis=-1)
    return (np.abs(got - expected) / (1.0 + np.abs(expected))).max()  # float32: relative to the size


class HalfLog2Pi(GaussianLikelihood):
    """A bug made by hand: log(2 pi) counted once per row instead of once per dimension."""

    def log_prob(self, x):
        standardized = (x - self.loc) * tf.exp(-self.log_scale)
        return (-0.5 * tf.reduce_sum(tf.square(standardized) + 2.0 * self.log_scale, axis=-1)
                - 0.5 * distributions.LOG_2PI)


def test_the_gaussian_likelihood_is_scipys_normal_and_catches_a_normaliser_counted_once():
    assert likelihood_error(GaussianLikelihood) < 1e-5
    assert likelihood_error(HalfLog2Pi) > 1e-3
    likelihood = GaussianLikelihood(tf.fill([3, 2], -4.0), tf.fill([3, 2], math.log(0.5)))
    draws = likelihood.sample(tf.random.stateless_normal([20_000, 3, 2], seed=[7, 0])).numpy()
    assert likelihood.mean().numpy().tolist() == [[-4.0, -4.0]] * 3
    assert abs(draws.mean() + 4.0) < 0.01 and abs(draws.std() - 0.5) < 0.01
    assert list(likelihood.params()) == ["mean", "log_scale"]


def test_families_are_found_by_name_and_the_fields_offer_exactly_the_registered_ones():
    assert set(BY_NAME["posterior"].choices) == set(POSTERIORS)
    assert set(BY_NAME["likelihood"].choices) == set(LIKELIHOODS)
    assert distributions.posterior_family("diagonal_gaussian") is DiagonalGaussian
    assert distributions.likelihood_family("gaussian") is GaussianLikelihood
    with pytest.raises(ValueError, match="^posterior must be one of diagonal_gaussian, mixture, flow, got 'planar'$"):
        BetaVAE(2, 1, 4, [0.0] * 2, [1.0] * 2, posterior="planar")
    with pytest.raises(ValueError, match="registered already"):
        register_posterior("diagonal_gaussian")(MissingLogScale)
    assert list(DiagonalGaussian(1.0, 2.0).params()) == ["mean", "log_scale"]


def test_config_json_records_the_families_and_one_written_before_them_loads_as_gaussians(tmp_path):
    np.save(tmp_path / "data.npy", np.zeros((20, 2), np.float32))
    config = run_config_for(tmp_path / "run", tmp_path / "data.npy")
    values = json.loads(json.dumps(config.to_dict()))
    assert (values["posterior"], values["likelihood"]) == ("diagonal_gaussian", "gaussian")
    older = {name: value for name, value in values.items() if name not in ("posterior", "likelihood")}
    loaded = config_from_dict(older, "config.json")
    assert (loaded.posterior, loaded.likelihood) == ("diagonal_gaussian", "gaussian")
    assert dataclasses.replace(loaded, posterior="diagonal_gaussian") == config_from_dict(values, "config.json")


# A family of this test alone: no closed-form KL, so the batch KL must be the Monte-Carlo one.
TOY = "toy_laplace"


class Laplace(Posterior):
    """Laplace(location, b = exp(log_scale)) per dimension, reparameterised from standard normal noise
    through the normal and Laplace CDFs: z = loc - b sign(n) log erfc(|n| / sqrt 2)."""

    parameter_names = ("location", "log_scale")

    def __init__(self, location, log_scale):
        super().__init__(location, log_scale)
        self.location, self.log_scale = location, log_scale

    def sample(self, noise):
        return self.location - tf.exp(self.log_scale) * tf.sign(noise) * tf.math.log(
            tf.math.erfc(tf.abs(noise) / math.sqrt(2.0)))

    def log_prob_per_dim(self, z):
        return -math.log(2.0) - self.log_scale - tf.abs(z - self.location) * tf.exp(-self.log_scale)

    def mean(self):
        return self.location


def laplace_kl(location, log_scale):
    """KL(Laplace(loc, b) || N(0, 1)) per dimension, in closed form (for checking the estimator only)."""
    return -math.log(2.0) - log_scale - 1.0 + 0.5 * math.log(2.0 * math.pi) + 0.5 * (location ** 2
                                                                                      + 2.0 * np.exp(2 * log_scale))


@pytest.fixture
def toy_family():
    register_posterior(TOY)(Laplace)
    yield Laplace
    distributions.unregister(TOY)


def test_the_toy_familys_draws_are_laplace_and_its_monte_carlo_kl_the_true_one(toy_family):
    location, log_scale = parameters()
    posterior = toy_family(tf.constant(location), tf.constant(log_scale))
    z = monte_carlo_draws(posterior).numpy()
    for r, j in ((0, 0), (3, 2)):
        assert stats.kstest(z[:, r, j], stats.laplace(location[r, j], np.exp(log_scale[r, j])).cdf).pvalue > 1e-3
    np.testing.assert_allclose(posterior.log_prob_per_dim(tf.constant(z[:3])),
                               stats.laplace(location, np.exp(log_scale)).logpdf(z[:3]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(posterior.kl_to_prior(tf.constant(z)).numpy(),
                               laplace_kl(location, log_scale).sum(axis=-1), rtol=0.02)


def toy_model(posterior=TOY):
    tf.keras.utils.set_random_seed(0)
    return BetaVAE(4, 2, 16, np.full(4, 50.0), np.full(4, 10.0), posterior=posterior)


def test_a_family_registered_in_a_test_trains_through_the_real_trainer_with_the_monte_carlo_kl(toy_family):
    model = toy_model()
    assert isinstance(model.posterior(tf.zeros([1, 4])), toy_family)
    trainer = Trainer(model, make_optimizer("adam", 3e-3), BetaObjective(1.0), seed=0, mc_samples=2)
    rows = factor_data_array(300)
    data = tf.constant(rows)
    losses = [trainer.run_epoch(data, *loading.epoch_order(len(rows), 64, 0, epoch), first_step=5 * epoch).loss
              for epoch in range(6)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    # The batch KL is the mean over the draws of log q(z|x) - log p(z), by scipy from the very draws.
    x = tf.constant(rows[:40])
    weights = tf.constant(np.r_[np.ones(35), np.zeros(5)], tf.float32)
    noise = tf.random.stateless_normal([2, 40, 2], seed=[1, 2])
    terms = batch_terms(model, x, weights, noise)
    location, log_scale = (value.numpy() for value in model.encode(x))
    z = terms.z.numpy()
    expected = (stats.laplace(location, np.exp(log_scale)).logpdf(z) - stats.norm.logpdf(z)).sum(-1).mean(0)
    np.testing.assert_allclose(terms.kl.numpy(), expected, rtol=1e-4, atol=1e-4)
    w = weights.numpy()
    assert float(terms.kl_mean) == pytest.approx(np.sum(w * expected) / w.sum(), rel=1e-4)
    metrics = trainer.evaluate(rows[:40], key=9)  # the compiled path, on the Trainer's own noise
    assert np.isfinite(metrics.kl) and metrics.kl > 0


class ClosedFormLaplace(Laplace):
    """A bug made by hand: a family that computes its KL as if it were a Gaussian's, not from its draws."""

    def kl_to_prior(self, samples=None, log_draw_weights=None):
        return distributions.gaussian_kl(self.location, self.log_scale)


def test_the_monte_carlo_check_catches_a_family_whose_batch_kl_is_not_from_its_draws(toy_family):
    POSTERIORS[TOY] = ClosedFormLaplace
    model = toy_model()
    x = tf.constant(factor_data_array(40))
    terms = batch_terms(model, x, tf.ones([40]), tf.random.stateless_normal([2, 40, 2], seed=[1, 2]))
    location, log_scale = (value.numpy() for value in model.encode(x))
    z = terms.z.numpy()
    expected = (stats.laplace(location, np.exp(log_scale)).logpdf(z) - stats.norm.logpdf(z)).sum(-1).mean(0)
    assert np.abs(terms.kl.numpy() - expected).max() > 0.05


def test_a_family_registered_in_a_test_trains_resumes_encodes_and_is_evaluated_from_the_command_line(toy_family,
                                                                                                     tmp_path):
    from betavae.commands import after_training as after_training_command
    from test_objective_specs import train
    from conftest import run_main
    np.save(tmp_path / "data.npy", factor_data_array(300))
    flags = ["--data", tmp_path / "data.npy", "--checkpoint-dir", tmp_path / "run", "--hidden-units", "8",
             "--posterior", TOY]
    assert train(*flags, "--epochs", "2").returncode == 0
    resumed = train(*flags, "--epochs", "3", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((tmp_path / "run" / "config.json").read_text())["posterior"] == TOY
    after = lambda *argv: run_main(after_training_command.main, "--checkpoint-dir", tmp_path / "run", *argv)  # noqa
    assert after("--mode", "encode", "--with-scale").returncode == 0
    location, log_scale = np.moveaxis(np.load(tmp_path / "run" / "codes.npy").reshape(-1, 2, 2), 1, 0)
    evaluated = after("--mode", "evaluate", "--iwae-samples", "4", "--num-samples", "100")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    # the rate by Monte Carlo (KL_DRAWS draws per row) against the Laplace's closed form, per dimension
    np.testing.assert_allclose(report["kl_per_dim"], laplace_kl(location, log_scale).mean(axis=0), atol=0.05)
    assert report["kl_decomposition"] is None and TOY in report["unavailable"]["kl_decomposition"]
    assert report["gap_decomposition"] is None and TOY in report["unavailable"]["gap_decomposition"]
    assert np.isfinite(report["test_nll_quadrature"]) and report["test_nll_iwae"] >= report["test_nll_quadrature"] - 0.1
