"""A model's log p(x) on the grid over the prior: exact where the posterior has two modes, one of which an
estimate centred on q(z|x) (IWAE) misses, and honest about a decoder too sharp for the grid."""
import math

import numpy as np
import tensorflow as tf
from scipy import integrate, stats

from betavae.model.inference import GRID_CELLS_PER_SCALE, MAX_GRID_POINTS, grid_log_likelihood, iwae_log_likelihood, score_rows
from betavae.model.vae import BetaVAE
from betavae.scoring.sections.likelihood import grid_description
from betavae.scoring.folding import folded_posterior
from test_evaluation import raw_for_log_scale, set_linear_mlp

SLOPE, SCALE = 2.0, 0.3  # x1 = SLOPE |z1| + noise of this standard deviation


def folded_model(latent_dim, log_scale=np.log(SCALE)):
    """A BetaVAE on 2-D data whose decoder mean is (SLOPE |z1|, 1.5 z2), or (SLOPE |z1|, -|z1|) with a 1-D
    latent: z1 and -z1 give the same x, so every posterior has two equal modes. Its encoder sits on the
    positive one, which it fits exactly."""
    tf.keras.utils.set_random_seed(0)
    model = BetaVAE(2, latent_dim, 8, np.zeros(2), np.ones(2))
    decoder = model.decoder
    kernel = np.zeros((latent_dim, 8))
    kernel[0, :2] = 1.0, -1.0  # hidden units relu(z1), relu(-z1); their sum is |z1|
    head = np.zeros((8, 4))
    head[:2, 0] = SLOPE
    if latent_dim == 2:
        kernel[1, 2:4] = 1.0, -1.0  # relu(z2) - relu(-z2) = z2
        head[2:4, 1] = 1.5, -1.5
    else:
        head[:2, 1] = -1.0
    decoder.hidden_1.kernel.assign(kernel)
    decoder.hidden_1.bias.assign(np.zeros(8))
    decoder.hidden_2.kernel.assign(np.eye(8))
    decoder.hidden_2.bias.assign(np.zeros(8))
    decoder.head.kernel.assign(head)
    decoder.head.bias.assign(np.r_[0.0, 0.0, np.full(2, raw_for_log_scale(log_scale))])
    # q: each latent's exact Gaussian posterior given the mode z1 > 0 (the decoder there is linear in z).
    loadings = np.array([[SLOPE, 0.0], [0.0, 1.5]]) if latent_dim == 2 else np.array([[SLOPE], [-1.0]])
    precision = 1.0 + (loadings ** 2).sum(axis=0) / SCALE ** 2
    set_linear_mlp(model.encoder, loadings / SCALE ** 2 / precision, raw_for_log_scale(-0.5 * np.log(precision)))
    return model


def rows_of(latent_dim, count, seed):
    """Rows drawn from folded_model's p(x)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(count, 2))
    second = 1.5 * z[:, 1] if latent_dim == 2 else -np.abs(z[:, 0])
    return (np.stack([SLOPE * np.abs(z[:, 0]), second], axis=1) + SCALE * rng.normal(size=(count, 2))).astype(np.float32)


def normal_pdf(value, mean=0.0, scale=1.0):
    """The normal density in plain Python floats: scipy.stats' scalar calls would dominate the quadrature's time."""
    return math.exp(-0.5 * ((value - mean) / scale) ** 2) / (scale * math.sqrt(2.0 * math.pi))


def exact_log_p(x, latent_dim):
    """log p(x) of folded_model by scipy's adaptive quadrature over z1 (z2 integrates in closed form)."""
    def first(row):
        row = [float(value) for value in row]

        def integrand(z):
            second = normal_pdf(row[1], -abs(z), SCALE) if latent_dim == 1 else 1.0
            return normal_pdf(row[0], SLOPE * abs(z), SCALE) * normal_pdf(z) * second
        return np.log(integrate.quad(integrand, -12, 12, points=[0.0], epsabs=0, epsrel=1e-10, limit=200)[0])
    result = np.array([first(row) for row in x])
    if latent_dim == 2:
        result += stats.norm.logpdf(x[:, 1], 0.0, np.hypot(1.5, SCALE))
    return result


def test_the_grid_is_exact_on_a_two_mode_posterior_where_iwae_misses_one_mode():
    for latent_dim in (1, 2):
        model = folded_model(latent_dim)
        x = rows_of(latent_dim, 40, seed=latent_dim)
        grid, entry = grid_log_likelihood(model, x)
        error = np.abs(grid - exact_log_p(x, latent_dim))
        # The kink of |z1| at the fold (as a ReLU decoder has) makes the trapezoid rule converge as step^2:
        # within 1e-4 on most rows, 0.02 on those whose posterior presses against it.
        assert np.median(error) < 1e-4 and error.mean() < 5e-3 and error.max() < 0.02, (latent_dim, error)
        assert entry["resolved"]
        # q sits on one of two equal modes: IWAE sees half the mass, log 2 short of log p(x) on most rows.
        missed = grid - iwae_log_likelihood(model, x, 200, seed=0)
        assert abs(np.median(missed) - np.log(2.0)) < 0.05, (latent_dim, np.median(missed))


def test_the_folded_share_counts_the_mass_that_q_misses_by_the_grid():
    model = folded_model(2)
    model.encoder.head.bias.assign(model.encoder.head.bias.numpy() + np.r_[0.0, 0.0, -1.0, 0.0])  # q too narrow
    x = rows_of(2, 300, seed=5)
    rows = score_rows(model, x, 100, seed=0)
    by_iwae = folded_posterior(rows)
    rows["grid"] = grid_log_likelihood(model, x)[0]
    by_grid = folded_posterior(rows)
    assert by_grid["log_p"] == "grid" and by_iwae["log_p"] == "iwae"
    # Both see the narrow q; only the grid also counts the mode q never draws from (log 2 more per row).
    assert by_grid["median_gap"] - by_iwae["median_gap"] > 0.5
    assert by_grid["share_of_rows"] > by_iwae["share_of_rows"]


def test_the_step_follows_the_decoder_and_a_decoder_too_sharp_for_the_grid_is_said_to_be():
    broad = grid_log_likelihood(folded_model(2), rows_of(2, 5, seed=0))[1]
    sharp = grid_log_likelihood(folded_model(2, np.log(SCALE / 10)), rows_of(2, 5, seed=0))[1]
    assert 8 < broad["posterior_scale"] / sharp["posterior_scale"] < 12  # the posterior's width follows the noise
    assert broad["resolved"] and np.isclose(broad["spacing"], broad["posterior_scale"] / GRID_CELLS_PER_SCALE[2])
    too_sharp = grid_log_likelihood(folded_model(2, np.log(SCALE / 100)), rows_of(2, 5, seed=0))[1]
    assert not too_sharp["resolved"] and too_sharp["spacing"] > too_sharp["posterior_scale"]
    assert too_sharp["points"] <= MAX_GRID_POINTS < 4 * too_sharp["points"]
    assert "an approximation" in grid_description(too_sharp) and "an approximation" not in grid_description(broad)


def test_a_diverged_decoder_gives_nan_rows_not_an_exception():
    model = folded_model(2)
    model.decoder.head.bias.assign(np.full(4, np.nan))
    log_p, entry = grid_log_likelihood(model, rows_of(2, 3, seed=0))
    assert np.all(np.isnan(log_p)) and not entry["resolved"]
    assert "scale n/a: an approximation" in grid_description({**entry, "posterior_scale": None})  # as evaluation.json has it


def test_a_noise_scale_that_varies_with_z_narrows_the_step():
    """x2's mean no longer depends on z2 but its log-scale does, at 8 per unit of z2: the Fisher information
    2 * 8^2 = 128 then exceeds the mean's SLOPE^2 / SCALE^2 = 44 in z1, which alone sets the step without it."""
    model = folded_model(2)
    head = model.decoder.head.kernel.numpy()
    head[2:4, 1] = 0.0
    model.decoder.head.kernel.assign(head)
    constant = grid_log_likelihood(model, rows_of(2, 3, seed=0))[1]["posterior_scale"]
    head[2:4, 3] = 8.0, -8.0  # log-scale of x2 = log SCALE + 8 z2 (soft-clamped)
    model.decoder.head.kernel.assign(head)
    varying = grid_log_likelihood(model, rows_of(2, 3, seed=0))[1]["posterior_scale"]
    assert varying < 0.8 * constant, (varying, constant)
