"""The mixture posterior (betavae.model.distributions.DiagonalGaussianMixture): its density, mean and exact
draws against scipy's; the stratified draws of training carry a gradient to the weights; on a decoder whose
posteriors have two equal modes far apart, where a single Gaussian misses log 2 (tests/test_gap_decomposition.py),
two components close the gap; and the objectives it does not fit refuse it in one line."""
import numpy as np
import pytest
import tensorflow as tf
from scipy import special, stats

from betavae.model.distributions import DiagonalGaussianMixture
from betavae.model.objectives import BetaObjective, IWAEObjective, importance_log_weights
from betavae.model.vae import BetaVAE, batch_terms
from betavae.config import config_from_dict
from conftest import run_main
from test_evaluation import raw_for_log_scale
from test_fields import config_json  # noqa: F401  (a fixture)
from test_grid_likelihood import SCALE, SLOPE, folded_model
from test_iwae_objective import exact_log_density

ROWS, COMPONENTS, DIMS = 5, 3, 2  # unequal sizes, so that a softmax or a sum over the wrong axis shows


def mixture():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(ROWS, COMPONENTS)).astype(np.float32) * 2.0
    mean = rng.normal(size=(ROWS, COMPONENTS, DIMS)).astype(np.float32) * 3.0
    log_scale = rng.uniform(-1.0, 0.5, size=(ROWS, COMPONENTS, DIMS)).astype(np.float32)
    return DiagonalGaussianMixture(*map(tf.constant, (logits, mean, log_scale))), logits, mean, log_scale


def test_the_density_mean_and_marginals_are_scipys_mixture_of_normals():
    posterior, logits, mean, log_scale = mixture()
    weights = special.softmax(logits.astype(float), axis=1)
    z = np.random.default_rng(1).normal(size=(4, ROWS, DIMS)) * 2.0
    components = stats.norm(mean, np.exp(log_scale)).logpdf(z[:, :, None, :])  # [4, rows, C, dims]
    expected = special.logsumexp(np.log(weights) + components.sum(-1), axis=-1)
    np.testing.assert_allclose(posterior.log_prob(tf.constant(z, tf.float32)), expected, rtol=1e-5, atol=1e-4)
    marginals = special.logsumexp(np.log(weights)[..., None] + components, axis=-2)
    np.testing.assert_allclose(posterior.log_prob_per_dim(tf.constant(z, tf.float32)), marginals, rtol=1e-5,
                               atol=1e-4)
    np.testing.assert_allclose(posterior.mean(), np.einsum("rc,rcd->rd", weights, mean), rtol=1e-5, atol=1e-5)


def test_the_draws_after_training_are_the_mixtures_and_the_stratified_draws_weigh_each_component_by_its_weight():
    posterior, logits, mean, log_scale = mixture()
    weights = special.softmax(logits.astype(float), axis=1)
    z = posterior.sample(tf.random.stateless_normal([20000, ROWS, DIMS], seed=[2, 3])).numpy()
    for row, dim in ((0, 0), (3, 1)):
        cdf = lambda v: np.sum(weights[row] * stats.norm(mean[row, :, dim], np.exp(log_scale[row, :, dim])).cdf(  # noqa
            np.asarray(v)[..., None]), axis=-1)
        assert stats.kstest(z[:, row, dim], cdf).pvalue > 1e-3
    draws, log_draw_weights = posterior.weighted_sample(tf.random.stateless_normal([4, ROWS, DIMS], seed=[4, 5]))
    assert draws.shape == (4 * COMPONENTS, ROWS, DIMS)
    np.testing.assert_allclose(np.exp(log_draw_weights.numpy()).reshape(COMPONENTS, 4, ROWS).sum(axis=1),
                               weights.T, rtol=1e-5)


def mixture_of_the_two_modes():
    """A BetaVAE with folded_model(1)'s decoder (x = (SLOPE |z|, -|z|) + noise: two equal modes) and a
    two-component encoder set by hand to each mode's exact Gaussian posterior, weighted 1/2 each."""
    folded = folded_model(1)
    model = BetaVAE(2, 1, 8, np.zeros(2), np.ones(2), posterior="mixture", components=2)
    for mine, theirs in zip(model.decoder.weights, folded.decoder.weights):
        mine.assign(theirs)
    loadings = np.array([SLOPE, -1.0])
    precision = 1.0 + np.sum(loadings ** 2) / SCALE ** 2
    gain = loadings / SCALE ** 2 / precision
    encoder = model.encoder  # hidden units x + 50 (ReLUs pass them), then the head [logit 1, 2, (mean, log sigma) 1, 2]
    encoder.hidden_1.kernel.assign(np.eye(2, 8))
    encoder.hidden_1.bias.assign(np.r_[50.0, 50.0, np.zeros(6)])
    encoder.hidden_2.kernel.assign(np.eye(8))
    encoder.hidden_2.bias.assign(np.zeros(8))
    head = np.zeros((8, 6))
    head[:2, 2], head[:2, 4] = gain, -gain
    encoder.head.kernel.assign(head)
    log_sigma = raw_for_log_scale(-0.5 * np.log(precision))
    encoder.head.bias.assign([0.0, 0.0, -50.0 * gain.sum(), log_sigma, 50.0 * gain.sum(), log_sigma])
    return folded, model


def test_two_components_close_the_log_2_gap_of_a_single_gaussian_on_two_equal_modes():
    """The ELBO by the stratified draws of training (beta 1), and the SIWAE bound, against log p(x) by
    quadrature: a single Gaussian on one mode misses log 2, the mixture of both modes nothing."""
    folded, model = mixture_of_the_two_modes()
    z = np.array([1.3, -1.6, 2.4, -2.0, 1.9, 2.2, -1.4])
    x = np.stack([SLOPE * np.abs(z), -np.abs(z)], axis=1) + SCALE * np.random.default_rng(7).normal(size=(7, 2))
    x = x.astype(np.float32)
    log_p = exact_log_density(model, x)
    noise = tf.random.stateless_normal([500, len(x), 1], seed=[8, 9])
    single = batch_terms(folded, tf.constant(x), tf.ones([len(x)]), noise)
    two = batch_terms(model, tf.constant(x), tf.ones([len(x)]), noise)
    # the single Gaussian's ELBO from its draws alone (log p(x, z) - log q(z) is nearly constant on one mode)
    single_gap = log_p - tf.reduce_mean(importance_log_weights(single.log_likelihood_draws, single.z,
                                                               single.posterior), axis=0).numpy()
    mixture_gap = log_p - (two.log_likelihood - two.kl).numpy()
    np.testing.assert_allclose(single_gap, np.log(2.0), atol=0.01)
    np.testing.assert_allclose(mixture_gap, 0.0, atol=1e-3)
    assert BetaObjective(1.0).batch_loss(two).numpy() == pytest.approx(-np.mean(log_p), abs=0.01)
    assert IWAEObjective(1.0).batch_loss(two).numpy() == pytest.approx(-np.mean(log_p), abs=0.01)
    with pytest.raises(ValueError, match="^iwae_gradient dreg: not defined for weighted draws .posterior mixture"):
        IWAEObjective(1.0, gradient="dreg").batch_loss(two)


def test_the_stratified_draws_carry_a_gradient_to_the_mixture_weights():
    """The weights' logits are the head's first two outputs: their bias gets a gradient from the loss, and
    raising one component's weight above 1/2 on these symmetric rows lowers the ELBO (a mode left out)."""
    _, model = mixture_of_the_two_modes()
    x = tf.constant([[3.0, -1.5], [4.0, -2.0]])
    noise = tf.random.stateless_normal([50, 2, 1], seed=[1, 1])
    with tf.GradientTape() as tape:
        loss = BetaObjective(1.0).batch_loss(batch_terms(model, x, tf.ones([2]), noise))
    gradient = tape.gradient(loss, model.encoder.head.bias).numpy()
    assert np.all(np.abs(gradient[:2]) < 1e-3)  # at the optimum, equal weights
    bias = model.encoder.head.bias.numpy()
    model.encoder.head.bias.assign(bias + np.r_[1.0, 0.0, np.zeros(4)])
    with tf.GradientTape() as tape:
        tilted = BetaObjective(1.0).batch_loss(batch_terms(model, x, tf.ones([2]), noise))
    assert tilted.numpy() > loss.numpy() + 0.05
    assert tape.gradient(tilted, model.encoder.head.bias).numpy()[0] > 0.01  # back towards equal weights


@pytest.mark.parametrize("flags, message", [
    (["--objective", "tc"], "--objective tc needs a posterior that factorises over the latent dimensions; "
                            "--posterior mixture does not"),
    (["--objective", "iwae", "--iwae-gradient", "dreg"], "--iwae-gradient dreg is not defined for --posterior "
                                                         "mixture (its draws are stratified by component); use "
                                                         "--iwae-gradient plain"),
    (["--components", "1"], "--components must be at least 2, got 1"),
])
def test_what_the_mixture_does_not_fit_is_refused_in_one_line(flags, message, tmp_path):
    from betavae.commands import train
    result = run_main(train.main, "--posterior", "mixture", *flags, "--checkpoint-dir", str(tmp_path / "run"))
    assert result.returncode == 2 and result.stderr == f"error: {message}\n", result.stderr
    assert not (tmp_path / "run").exists()


def test_a_mixture_run_records_its_components_and_names_them_in_the_header(tmp_path):
    from betavae.training.console import header_lines
    from conftest import factor_data_array, run_config_for
    np.save(tmp_path / "data.npy", factor_data_array(50))
    config = run_config_for(tmp_path / "run", tmp_path / "data.npy", "--posterior", "mixture", "--components", 3)
    assert (config.to_dict()["posterior"], config.to_dict()["components"]) == ("mixture", 3)
    assert "units; q(z|x) a mixture of 3 diagonal Gaussians" in "\n".join(header_lines(config, "run"))
    assert BetaVAE(4, 2, 8, np.zeros(4), np.ones(4), posterior="mixture", components=3).encoder.head.units == 15


def test_the_encode_columns_name_each_components_parameters():
    assert DiagonalGaussianMixture.code_columns("logits", 3, 2) == ("logit_c1", "logit_c2", "logit_c3")
    assert DiagonalGaussianMixture.code_columns("mean", 6, 2) == ("mean_c1_z1", "mean_c1_z2", "mean_c2_z1",
                                                                   "mean_c2_z2", "mean_c3_z1", "mean_c3_z2")
    posterior, _, mean, _ = mixture()
    np.testing.assert_array_equal(posterior.params()["mean"].numpy()[:, 2:4], mean[:, 1])  # component 2's


def test_a_config_json_from_before_the_two_fields_loads_with_plain_gradients_and_two_components(
        config_json):  # noqa: F811
    older = {name: value for name, value in config_json.items() if name not in ("components", "iwae_gradient")}
    loaded = config_from_dict(older, "config.json")
    assert (loaded.components, loaded.iwae_gradient) == (2, "plain")


def test_the_kl_of_a_row_is_the_mixtures_joint_kl_not_the_sum_of_its_marginals():
    """Two components at (-2, -2) and (2, 2) tie z1 to z2: q's total correlation is near log 2, so the KL of the
    row (what the ELBO and the folding share subtract) is that much above the sum of the marginals' KLs. The
    joint KL here comes from a grid in the test."""
    from betavae.model.inference import kl_of_rows
    rows = 256  # one posterior, repeated: the mean of 256 x 64 Monte-Carlo draws
    logits = np.zeros((rows, 2), np.float32)
    mean = np.broadcast_to(np.array([[-2.0, -2.0], [2.0, 2.0]], np.float32), (rows, 2, 2)).copy()
    log_scale = np.full((rows, 2, 2), np.log(0.5), np.float32)
    posterior = DiagonalGaussianMixture(*map(tf.constant, (logits, mean, log_scale)))
    axis = np.linspace(-6.0, 6.0, 601)
    z1, z2 = np.meshgrid(axis, axis, indexing="ij")
    density = 0.5 * sum(stats.norm(m, 0.5).pdf(z1) * stats.norm(m, 0.5).pdf(z2) for m in (-2.0, 2.0))
    prior = stats.norm.pdf(z1) * stats.norm.pdf(z2)
    step = axis[1] - axis[0]
    inside = density > 1e-300
    joint = float(np.sum(density[inside] * np.log(density[inside] / prior[inside])) * step ** 2)
    marginal = 0.5 * (stats.norm(-2.0, 0.5).pdf(axis) + stats.norm(2.0, 0.5).pdf(axis))
    marginals = 2 * float(np.sum(marginal * np.log(marginal / stats.norm.pdf(axis))) * step)
    assert joint - marginals > 0.6  # close to log 2: the two coordinates share the component's bit
    estimate = float(np.mean(kl_of_rows(posterior, tf.constant([7, 8], tf.int32)).numpy()))
    assert abs(estimate - joint) < 0.05, (estimate, joint, marginals)
