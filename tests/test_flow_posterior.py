"""The flow posterior (betavae.model.flow.CouplingFlow): its density against the change of variables computed
here independently (the forward map inverted by root finding, its Jacobian by finite differences), its
draws against its density (importance weights from a wide Gaussian), its Monte-Carlo KL against quadrature,
the identity flow against the diagonal Gaussian, unequal sizes; and on a decoder whose posterior is a
banana, the best flow's ELBO above the best diagonal Gaussian's."""
import numpy as np
import pytest
import tensorflow as tf
from scipy import optimize, special, stats

from betavae.model.distributions import DiagonalGaussian, Posterior
from betavae.model.flow import CouplingFlow, coupling_units, step_sizes
from betavae.model.objectives import IWAEObjective
from betavae.model.vae import BetaVAE, batch_terms

ROWS = 3


def flow(latent_dim, steps, seed=1, spread=0.3, dtype=np.float64):
    """A flow of ROWS rows with random weights (spread: their scale), in float64 for the finite differences."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=(ROWS, latent_dim)) * 0.5
    log_scale = rng.uniform(-0.7, 0.0, size=(ROWS, latent_dim))
    coupling = rng.normal(size=(ROWS, coupling_units(latent_dim, steps))) * spread
    return CouplingFlow(*(tf.constant(value.astype(dtype)) for value in (mean, log_scale, coupling)))


def forward_map(posterior, row):
    """z_0 -> z of one row, [dim] -> [dim], as a numpy function (the flow's forward steps only)."""
    def apply(base):
        batch = np.zeros((ROWS, posterior.latent_dim))
        batch[row] = base
        return posterior.forward(tf.constant(batch))[0].numpy()[row]
    return apply


def change_of_variables(posterior, z):
    """log q(z) per row by z_0 = the root of forward(z_0) = z (scipy) and log N(z_0; base) - log |det J| with
    J the forward map's Jacobian by central differences."""
    mean, log_scale = posterior.loc.numpy(), posterior.log_scale.numpy()
    values = []
    for row in range(ROWS):
        apply = forward_map(posterior, row)
        base = optimize.fsolve(lambda b: apply(b) - z[row], mean[row], xtol=1e-12)
        assert np.allclose(apply(base), z[row], atol=1e-8)
        step = 1e-5
        jacobian = np.stack([(apply(base + step * e) - apply(base - step * e)) / (2 * step)
                             for e in np.eye(len(base))], axis=1)
        values.append(stats.norm(mean[row], np.exp(log_scale[row])).logpdf(base).sum()
                      - np.linalg.slogdet(jacobian)[1])
    return np.array(values)


@pytest.mark.parametrize("latent_dim, steps", [(2, 3), (3, 4)])  # 3: parts of 1 and 2, steps alternating them
def test_the_density_is_the_change_of_variables_computed_independently(latent_dim, steps):
    posterior = flow(latent_dim, steps, seed=0, spread=0.6)  # strongly curved
    z = np.random.default_rng(1).normal(size=(ROWS, latent_dim)) * 1.5  # any z, not the flow's draws
    np.testing.assert_allclose(posterior.log_prob(tf.constant(z)).numpy(), change_of_variables(posterior, z),
                               rtol=0, atol=1e-6)


def test_the_density_integrates_to_1_and_the_draws_follow_it():
    """With z ~ p0 = N(0, 3^2 I) (wider than q): E_p0[q / p0] = 1, and E_p0[f q / p0] = E_q[f] by q's draws,
    for f = z_j, z_j^2 and z_1 z_2."""
    posterior = flow(2, 4, dtype=np.float32)
    wide = stats.norm(0.0, 3.0)
    z = wide.rvs(size=(400_000, ROWS, 2), random_state=np.random.default_rng(2)).astype(np.float32)
    weights = np.exp(posterior.log_prob(tf.constant(z)).numpy() - wide.logpdf(z).sum(axis=-1))
    standard_error = lambda values: values.std(axis=0) / np.sqrt(len(values))  # noqa: E731
    assert np.all(np.abs(weights.mean(axis=0) - 1.0) < 4 * standard_error(weights))
    draws = posterior.sample(tf.random.stateless_normal([400_000, ROWS, 2], seed=[3, 4])).numpy()
    for f in (lambda v: v[..., 0], lambda v: v[..., 1], lambda v: v[..., 0] ** 2, lambda v: v[..., 1] ** 2,
              lambda v: v[..., 0] * v[..., 1]):
        by_draws, by_weights = f(draws), weights * f(z)
        tolerance = 4 * np.hypot(standard_error(by_draws), standard_error(by_weights))
        assert np.all(np.abs(by_weights.mean(axis=0) - by_draws.mean(axis=0)) < tolerance)


def test_the_monte_carlo_kl_matches_quadrature_and_its_shares_sum_to_it():
    posterior = flow(2, 4)
    axis = np.arange(-9.0, 9.0, 0.02)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 1, 2)
    log_q = posterior.log_prob(tf.constant(np.broadcast_to(grid, (len(grid), ROWS, 2)))).numpy()
    log_prior = stats.norm.logpdf(grid).sum(axis=-1)
    by_quadrature = np.sum(np.exp(log_q) * (log_q - log_prior), axis=0) * 0.02 ** 2
    np.testing.assert_allclose(np.exp(special.logsumexp(log_q, axis=0)) * 0.02 ** 2, 1.0, atol=1e-4)
    noise = tf.random.stateless_normal([100_000, ROWS, 2], seed=[5, 6], dtype=tf.float64)
    by_draws = posterior.kl_to_prior(posterior.sample(noise)).numpy()
    np.testing.assert_allclose(by_draws, by_quadrature, atol=0.02)
    np.testing.assert_allclose(posterior.kl_per_dim_from(noise).numpy().sum(axis=1), by_draws, rtol=1e-6)


def test_a_flow_whose_weights_are_all_zero_is_its_base_gaussian():
    posterior = flow(3, 3, spread=0.0)
    gaussian = DiagonalGaussian(posterior.loc, posterior.log_scale)
    noise = tf.random.stateless_normal([50, ROWS, 3], seed=[7, 8], dtype=tf.float64)
    z = gaussian.sample(noise)
    np.testing.assert_allclose(posterior.sample(noise), z, atol=1e-12)
    np.testing.assert_allclose(posterior.log_prob(z), gaussian.log_prob(z), atol=1e-10)
    np.testing.assert_allclose(posterior.kl_to_prior(z), Posterior.kl_to_prior(gaussian, z), atol=1e-10)
    np.testing.assert_allclose(posterior.kl_per_dim_from(noise), Posterior.kl_to_prior_per_dim(gaussian, z),
                               atol=1e-10)
    np.testing.assert_allclose(posterior.mean(), posterior.loc, atol=1e-6)  # the mirrored points: exact


def test_one_step_keeps_the_first_part_and_the_kl_share_of_a_kept_coordinate_is_its_base_kl():
    """A single step of a 3-d latent keeps coordinate 1 and moves 2 and 3: z_1 is the base draw's, its
    log-determinant share is 0, so its KL share is the base Gaussian's KL of that coordinate (same draws)."""
    posterior = flow(3, 1, spread=0.5)
    noise = tf.random.stateless_normal([20, ROWS, 3], seed=[3, 1], dtype=tf.float64)
    base = posterior.base.sample(noise)
    z, log_det = posterior.forward(base)
    np.testing.assert_array_equal(z[..., 0], base[..., 0])
    assert np.all(log_det[..., 0] == 0) and np.all(np.abs(z[..., 1:] - base[..., 1:]) > 0)
    np.testing.assert_allclose(posterior.kl_per_dim_from(noise)[:, 0],
                               Posterior.kl_to_prior_per_dim(posterior.base, base)[:, 0], atol=1e-12)


def test_unequal_sizes_a_3d_latent_and_5_data_columns_train_and_name_their_columns():
    model = BetaVAE(5, 3, 8, np.zeros(5), np.ones(5), posterior="flow", flow_steps=3)
    assert [step_sizes(3, step) for step in range(3)] == [(1, 2), (2, 1), (1, 2)]
    assert model.encoder.head.units == 6 + coupling_units(3, 3)
    x = tf.constant(np.random.default_rng(9).normal(size=(4, 5)), tf.float32)
    posterior = model.posterior(x)
    assert posterior.steps == 3 and posterior.mean().shape == (4, 3)
    noise = tf.random.stateless_normal([6, 4, 3], seed=[1, 2])
    with tf.GradientTape() as tape:
        terms = batch_terms(model, x, tf.ones([4]), noise)
        loss = IWAEObjective(1.0, gradient="dreg").batch_loss(terms)  # DReG: the flow's stopped() is defined
    assert terms.z.shape == (6, 4, 3) and terms.kl.shape == (4,) and np.isfinite(loss.numpy())
    head_gradient = tape.gradient(loss, model.encoder.head.kernel).numpy()
    assert np.all(np.isfinite(head_gradient)) and np.any(head_gradient[:, 6:] != 0)  # the coupling weights learn
    with tf.GradientTape() as tape:
        stopped = posterior.stopped().log_prob(terms.z)
    assert tape.gradient(stopped, model.encoder.head.kernel) is None
    np.testing.assert_allclose(stopped, posterior.log_prob(terms.z), rtol=1e-6)
    width = posterior.params()["coupling"].shape[1]
    names = CouplingFlow.code_columns("coupling", width, 3)
    assert len(names) == width and names[:2] == ("step1_w1_1", "step1_w1_2") and names[-1] == "step3_bt_2"
    assert CouplingFlow.code_columns("base_log_scale", 3, 3) == ("base_log_scale_z1", "base_log_scale_z2",
                                                                  "base_log_scale_z3")


# A decoder whose posterior is a banana: x1 = z1 + N(0, 1), x2 = z2 + z1^2 + N(0, 0.1^2), at x = (1, 1).
BANANA_X = np.array([1.0, 1.0])
BANANA_SCALES = np.array([1.0, 0.1])


def banana_log_joint(z):
    """log p(x|z) + log p(z) at BANANA_X, for z [..., 2] (float32 or float64 tensors)."""
    fitted = tf.stack([z[..., 0], z[..., 1] + tf.square(z[..., 0])], axis=-1)
    return tf.reduce_sum(-0.5 * tf.square((BANANA_X - fitted) / BANANA_SCALES) - np.log(BANANA_SCALES)
                         - 0.5 * np.log(2 * np.pi) - 0.5 * tf.square(z) - 0.5 * np.log(2 * np.pi), axis=-1)


def best_elbo(steps, fit_steps=400, seed=0):
    """The ELBO at BANANA_X of q fitted by Adam on 64 reparameterised draws per step: a flow of `steps`
    coupling steps (0: the diagonal Gaussian), estimated at the end with 20,000 fresh draws."""
    rng = np.random.default_rng(seed)
    mean, log_scale = tf.Variable(np.zeros((1, 2), np.float32)), tf.Variable(np.full((1, 2), -1.0, np.float32))
    coupling = tf.Variable(rng.normal(size=(1, coupling_units(2, steps))).astype(np.float32) * 0.1)
    variables = [mean, log_scale] + ([coupling] if steps else [])
    optimizer = tf.keras.optimizers.Adam(0.03)

    def elbo(noise):
        posterior = CouplingFlow(mean, log_scale, coupling)
        z = posterior.sample(noise)
        return tf.reduce_mean(banana_log_joint(z) - posterior.log_prob(z))

    @tf.function
    def step(key):
        with tf.GradientTape() as tape:
            loss = -elbo(tf.random.stateless_normal([64, 1, 2], seed=key))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    for i in range(fit_steps):
        step(tf.constant([seed, i]))
    return float(elbo(tf.random.stateless_normal([20_000, 1, 2], seed=[99, seed])))


def banana_log_p():
    """log p(x) at BANANA_X by quadrature over z1 (z2 given z1 is Gaussian, integrated in closed form)."""
    z1 = np.linspace(-8, 8, 20001)
    variance = 1.0 + BANANA_SCALES[1] ** 2  # z2 ~ N(0, 1), x2 - z1^2 = z2 + noise
    log_terms = (stats.norm.logpdf(z1) + stats.norm.logpdf(BANANA_X[0], z1, BANANA_SCALES[0])
                 + stats.norm.logpdf(BANANA_X[1] - z1 ** 2, 0.0, np.sqrt(variance)))
    return special.logsumexp(log_terms) + np.log(z1[1] - z1[0])


def test_on_a_banana_posterior_the_best_flow_beats_the_best_diagonal_gaussian():
    log_p = banana_log_p()
    gaussian, two_steps = best_elbo(0), best_elbo(2)
    assert gaussian < log_p and two_steps < log_p + 0.01  # bounds (the estimates' noise is below 0.01)
    assert two_steps > gaussian + 0.3, (log_p, gaussian, two_steps)
    assert log_p - two_steps < 0.5 * (log_p - gaussian)
