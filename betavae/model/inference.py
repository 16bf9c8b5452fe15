"""What a trained beta-VAE is used for: prior samples, reconstructions, codes and log-likelihood estimates.

Each works in chunks of rows (at most SAMPLING_CHUNK), one compiled call per chunk, so there is no Python
loop per sample; importance samples go in blocks within a chunk, so memory stays
bounded (by max_evaluations decoder passes, or one chunk's rows when that is more). Noise is stateless,
keyed by (seed, position), so results repeat exactly for the same function; the XLA-compiled functions and
the plain-graph score_rows (evaluate's one pass) draw different random streams from the same keys, as do the
chunks compiled with and without XLA (model.compilation: BETAVAE_XLA).
"""
import math

import numpy as np
import tensorflow as tf

from betavae import grid_quadrature
from betavae.constants import LOG_2PI
from betavae.model.compilation import graph_function
from betavae.model.distributions import PRIOR
from betavae.model.vae import NOISE_ALGORITHM


def _draw(model, z, key, mean_only):
    """x from p(x|z): its mean, or a draw (noise keyed by key)."""
    likelihood = model.likelihood(z)
    if mean_only:
        return likelihood.mean()
    return likelihood.sample(tf.random.stateless_normal(tf.shape(likelihood.mean()), seed=key, alg=NOISE_ALGORITHM))


@graph_function
def _prior_chunk(model, num_samples, key, mean_only):
    z = PRIOR.sample(tf.random.stateless_normal([num_samples, model.latent_dim], seed=key, alg=NOISE_ALGORITHM))
    return _draw(model, z, key + [0, 1], mean_only)


@graph_function
def _reconstruct_chunk(model, x, key, mean_only):
    posterior = model.posterior(x)
    noise = tf.random.stateless_normal(tf.shape(posterior.mean()), seed=key, alg=NOISE_ALGORITHM)
    return _draw(model, posterior.sample(noise), key + [0, 1], mean_only)


SAMPLING_CHUNK = 1 << 14  # rows per compiled call: amortises the call while the activations stay in cache


def _chunk_key(seed, start):
    """The noise seed of the chunk starting at row `start`: (seed, 2 * start), leaving (seed, 2 * start + 1)
    free for the chunk's second draw, so no two chunks or draws share a key. Ints or int64 tensors."""
    return tf.stack([tf.cast(seed, tf.int64), 2 * tf.cast(start, tf.int64)])


def _map_chunks(compute, x, rows, seed=0):
    """compute(chunk, key) over the rows of x in chunks of one size, at most `rows` (the last chunk padded
    with zero rows, whose outputs are dropped), so that the compiled function meets a single shape and
    compiles once. key (from _chunk_key) seeds the chunk's noise; the chunk may also use key + (0, 1).
    compute returns a tensor or a tuple of tensors; this returns the same as numpy arrays."""
    size = max(1, min(rows, len(x)))
    parts = []
    for start in range(0, len(x), size):
        chunk = np.asarray(x[start:start + size], np.float32)
        padding = np.zeros((size - len(chunk), chunk.shape[1]), np.float32)
        parts.append(compute(tf.constant(np.concatenate([chunk, padding])), _chunk_key(seed, start)))
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate([part[i].numpy() for part in parts])[:len(x)] for i in range(len(parts[0])))
    return np.concatenate([part.numpy() for part in parts])[:len(x)]


def prior_chunk_rows(num_samples):
    """The rows of every chunk of num_samples prior samples (one size, so one compilation), as a scalar
    int tensor: at most SAMPLING_CHUNK, at least 1."""
    return tf.clip_by_value(num_samples, 1, SAMPLING_CHUNK)


def prior_chunk(model, num_samples, seed, start, mean_only=False):
    """The chunk of num_samples prior samples beginning at row `start` (a multiple of prior_chunk_rows),
    as a float32 tensor. Python ints or int64 tensors alike, eagerly or inside a tf.function: the one
    computation of both the CLI's samples and the exported SavedModel's, so the two give the same numbers."""
    return _prior_chunk(model, prior_chunk_rows(num_samples), _chunk_key(seed, start), mean_only)[:num_samples - start]


def prior_chunks(model, num_samples, seed, mean_only=False):
    """The rows of sample_prior, chunk by chunk (float32 arrays), so that any number can be streamed. Always
    the compiled chunks (XLA unless BETAVAE_XLA=0): eager ops draw other random streams from the same keys,
    and then the same seed would give other samples (and other scores) in --mode prior, evaluate and the
    plots."""
    for start in range(0, num_samples, int(prior_chunk_rows(num_samples))):
        yield prior_chunk(model, num_samples, seed, start, mean_only).numpy()


def prior_tensor(model, num_samples, seed, mean_only=False):
    """sample_prior's rows as one tensor, for num_samples and seed int64 tensors inside a tf.function (the
    exported SavedModel's sample): the same chunks, in a graph loop instead of a Python one."""
    rows = prior_chunk_rows(num_samples)
    parts = tf.TensorArray(tf.float32, size=0, dynamic_size=True, infer_shape=False,
                           element_shape=tf.TensorShape([None, model.data_dim]))
    for start in tf.range(0, num_samples, rows):
        parts = parts.write(tf.cast(start // rows, tf.int32), prior_chunk(model, num_samples, seed, start, mean_only))
    return parts.concat()


def sample_prior(model, num_samples, seed, mean_only=False):
    """Generate data: z ~ N(0, I) -> decoder -> x, as a float32 array [num_samples, data_dim]."""
    return np.concatenate(list(prior_chunks(model, num_samples, seed, mean_only)))


def reconstruct(model, x, seed, mean_only=False):
    """Reconstruct rows x: encoder -> z ~ q(z|x) -> decoder -> x, as a float32 array like x."""
    return _map_chunks(lambda chunk, key: _reconstruct_chunk(model, chunk, key, mean_only), x, SAMPLING_CHUNK, seed)


def _log_joint(model, x, z):
    """log p(x|z) and log p(z), each [..., rows], for z [..., rows, latent_dim] and rows x [rows, data_dim]."""
    return model.likelihood(z).log_prob(x), PRIOR.log_prob(z)


def _per_block(count, rows, max_evaluations):
    """(rows per chunk, terms per block): `rows` rows go in chunks of at most SAMPLING_CHUNK, and `count`
    importance samples in blocks, so that a block holds about max_evaluations decoder
    passes at most (one term per block at the least). The chunks do not depend on max_evaluations, so
    neither do the noise keys: blocking changes memory, never results."""
    chunk_rows = max(1, min(SAMPLING_CHUNK, rows))
    return chunk_rows, max(1, min(count, max_evaluations // chunk_rows))


def _log_add(total, terms, valid):
    """total (per row) + the log-sum-exp over the leading axis of terms [block, rows] where valid [block]."""
    part = tf.reduce_logsumexp(tf.where(valid[:, None], terms, -math.inf), axis=0)
    return tf.reduce_logsumexp(tf.stack([total, part]), axis=0)


def _importance_weighted(model, x, posterior, key, count, block):
    """Per row, the IWAE estimate of log p(x) from `count` draws of the posterior q(z|x), and E_q[log p(x|z)]
    from the same draws, `block` draws at a time so that memory is bounded whatever count is. Draw k's noise
    is keyed by (key, k), so the blocking never changes the draws."""
    rows = tf.shape(x)[0]
    log_total, likelihood_total = tf.fill([rows], -math.inf), tf.zeros([rows])
    for first in tf.range(0, count, block):
        number = first + tf.range(block)
        noise = tf.map_fn(lambda k: tf.random.stateless_normal(
            tf.shape(posterior.mean()), seed=tf.random.experimental.stateless_fold_in(key, k), alg=NOISE_ALGORITHM),
            number, fn_output_signature=tf.float32)
        z = posterior.sample(noise)
        log_likelihood, log_prior = _log_joint(model, x, z)
        valid = number < count
        log_total = _log_add(log_total, log_likelihood + log_prior - posterior.log_prob(z), valid)
        likelihood_total += tf.reduce_sum(tf.where(valid[:, None], log_likelihood, 0.0), axis=0)
    num_samples = tf.cast(count, tf.float32)
    return log_total - tf.math.log(num_samples), likelihood_total / num_samples


@graph_function
def _iwae_chunk(model, x, key, count, block):
    return _importance_weighted(model, x, model.posterior(x), key, count, block)[0]


def iwae_log_likelihood(model, x, num_samples, seed, max_evaluations=1 << 18):
    """Importance-weighted estimate of log p(x) per row (Burda et al. 2016) with q(z|x) as proposal; rows
    go in chunks and samples in blocks, so that about max_evaluations decoder passes are held at once."""
    rows, block = _per_block(num_samples, len(x), max_evaluations)
    count, block = tf.constant(num_samples), tf.constant(block)
    return _map_chunks(lambda chunk, key: _iwae_chunk(model, chunk, key, count, block), x, rows, seed)


# Grid points per narrowest posterior scale, by latent dimension. A ReLU decoder's kinks make the integrand
# only piecewise smooth, so the trapezoid rule converges as step^2 at a kink, not spectrally; a 2-D grid
# costs the square, so it takes the truth's one point per scale (on a decoder fitted to periodic data's
# truth, 0.68 and 0.34 of that step moved -log p(x) by < 1e-4 nats: docs/evaluation.md, "Folded posteriors").
GRID_CELLS_PER_SCALE = {1: 8.0, 2: 1.0}
GRID_PROBES = 41  # points per latent axis within 3 prior scales where the decoder's Jacobian sets the step
MAX_GRID_POINTS = 1 << 18  # the grid's points at most (a 2-D step no finer than 0.023): bounds its time


def latent_jacobians(function, z):
    """function(z)'s outputs [n, out] at latent rows z [n, k] (k >= 1), and the Jacobian [n, out, k] of each
    with respect to its row of z, as numpy arrays: forward-mode differentiation, one eager pass per latent
    dimension, where a reverse-mode batch_jacobian traces a vectorised graph at every call (a third of a
    second each). An output that does not depend on z has a Jacobian of zeros."""
    z = tf.constant(z, tf.float32)
    rows, k = z.shape
    columns = []
    for j in range(k):
        with tf.autodiff.ForwardAccumulator(z, tf.one_hot(tf.fill([rows], j), k)) as accumulator:
            outputs = function(z)
        columns.append([accumulator.jvp(output, unconnected_gradients=tf.UnconnectedGradients.ZERO).numpy()
                        for output in outputs])
    return ([output.numpy() for output in outputs],
            [np.stack([column[i] for column in columns], axis=-1) for i in range(len(outputs))])


def _decoder_jacobians(model, z):
    """At latent rows z: the Jacobians [n, D, k] of the decoder's mean and of its log-scale, and its inverse
    variances [n, D], in data units."""
    (_, log_scale), jacobians = latent_jacobians(model.decode, z)
    return jacobians[0].astype(float), np.exp(-2.0 * log_scale.astype(float)), jacobians[1].astype(float)


def grid_log_likelihood(model, x):
    """log p(x) per row by the trapezoid rule on a grid over the prior N(0, I) (grid_quadrature), for a
    latent of 1 or 2 dimensions: it sees a posterior of any shape, not only near q(z|x). Returns (log p
    [rows], the grid entry of the report: its step, its points, the decoder's narrowest posterior scale, and
    whether the step is GRID_CELLS_PER_SCALE[k] times finer, as it is unless the grid would exceed
    MAX_GRID_POINTS)."""
    k = model.latent_dim
    if k > 2:
        raise ValueError(f"latent_dim {k}: the grid is for 1 or 2 latent dimensions")
    probes = grid_quadrature.tensor_grid([-3.0] * k, [3.0] * k, 6.0 / (GRID_PROBES - 1))
    mean_jacobian, inverse_variances, scale_jacobian = _decoder_jacobians(model, probes)
    posterior_scale = grid_quadrature.grid_step(mean_jacobian, inverse_variances, 1.0,
                                                scale_jacobian=scale_jacobian)
    reach = grid_quadrature.PRIOR_REACH
    finest = 2.0 * reach / (MAX_GRID_POINTS ** (1.0 / k) - 1.0)
    spacing = max(posterior_scale / GRID_CELLS_PER_SCALE[k], finest) if np.isfinite(posterior_scale) else finest
    grid = grid_quadrature.tensor_grid([-reach] * k, [reach] * k, spacing)
    means, log_scales = _map_chunks(lambda chunk, _: model.decode(chunk), grid, SAMPLING_CHUNK)
    log_weights = -0.5 * np.sum(grid ** 2 + LOG_2PI, axis=1) + k * np.log(spacing)
    log_p = grid_quadrature.log_density_on_grid(x, means, np.exp(2.0 * log_scales.astype(float)), log_weights)
    return log_p, {"rule": "trapezoid on a grid over the prior", "spacing": spacing, "points": len(grid),
                   "posterior_scale": posterior_scale,
                   "resolved": bool(spacing * GRID_CELLS_PER_SCALE[k] <= posterior_scale * (1 + 1e-9))}


def log_joint_function(model, x):
    """log p(x|z) + log p(z) of the model and its gradient in z, as a numpy function of z [nodes, rows, k]
    (row r of z paired with row r of x [rows, data_dim]) returning ([nodes, rows], [nodes, rows, k]): what
    scoring.posterior_fit maximises the rows' ELBOs with. One graph function per call, traced once for any
    number of nodes (the fit's rule, the grid of its starts and the finer rule all reuse it)."""
    x = tf.constant(x, tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, None, model.latent_dim], tf.float32)])
    def value_and_gradient(z):
        with tf.GradientTape() as tape:
            tape.watch(z)
            log_likelihood, log_prior = _log_joint(model, x, z)
            value = log_likelihood + log_prior
        return value, tape.gradient(value, z)  # each value depends on its own z only: the gradient per point

    return lambda z: tuple(part.numpy() for part in value_and_gradient(tf.constant(z, tf.float32)))


KL_DRAWS = 64  # draws per row of the Monte-Carlo KL per dimension, for a posterior family without a closed form


def _kl_per_dim(posterior, key):
    """The KL of each latent dimension of the rows' posteriors (Posterior.kl_per_dim_from), its Monte-Carlo
    draws (if the family needs them) keyed by the chunk's second key, key + (0, 1)."""
    return posterior.kl_per_dim_from(_kl_noise(posterior, key))


def _kl_noise(posterior, key):
    """KL_DRAWS standard-normal draws per row for the Monte-Carlo KLs, keyed by the chunk's second key."""
    shape = tf.concat([[KL_DRAWS], tf.shape(posterior.mean())], axis=0)
    return tf.random.stateless_normal(shape, seed=key + [0, 1], alg=NOISE_ALGORITHM)


def kl_of_rows(posterior, key):
    """KL(q(z|x) || N(0, I)) of each row, [batch]: in closed form where the family has one, else the
    Monte-Carlo estimate over the same draws as _kl_per_dim. For a family that is not factorised (a mixture)
    this is not the sum of the dimensions' KLs, which misses q's own total correlation."""
    if posterior.has_closed_form_kl:
        return posterior.kl_to_prior()
    return posterior.kl_to_prior(posterior.sample(_kl_noise(posterior, key)))


@graph_function
def _encode_chunk(model, x, key):
    """E_q[z], the KL of each latent dimension and the family's params() in its order, of rows x."""
    posterior = model.posterior(x)
    return (posterior.mean(), _kl_per_dim(posterior, key), *posterior.params().values())


def _encoded(model, x):
    return _map_chunks(lambda chunk, key: _encode_chunk(model, chunk, key), x, SAMPLING_CHUNK)


def posterior_parameters(model, x):
    """q(z|x) of rows x (data units): the codes E_q[z] [rows, latent_dim] and the posterior family's
    params() (a dict of [rows, latent_dim] arrays by name, in the family's order: for the diagonal Gaussian
    "mean" and "log_scale"): what --mode encode writes, --with-scale with every parameter."""
    means, _, *values = _encoded(model, x)
    return means, dict(zip(model.posterior_family.parameter_names, values))


def encode_posterior(model, x):
    """q(z|x) of rows x (data units): the posterior family's params() as a tuple in its order, [rows,
    latent_dim] each; for the diagonal Gaussian, the encoder means E_q[z] and log-scales."""
    return tuple(posterior_parameters(model, x)[1].values())


def encode_with_kl(model, x):
    """Codes E_q[z] [rows, latent_dim] and the KL of each latent dimension [rows, latent_dim]."""
    means, kl, *_ = _encoded(model, x)
    return means, kl


SCORES = ("code_means", "kl_per_dim", "kl", "iwae", "log_likelihood", "recon_means")


def score_rows(model, x, iwae_samples, seed, max_evaluations=1 << 17):
    """Every per-row score of an evaluation from one encoder pass, as a dict of arrays named by SCORES:
    the posterior's means, KL per latent dimension and the KL of the row (kl_of_rows; Monte Carlo for a family
    without a closed form), IWAE
    log p(x) and E_q[log p(x|z)] from the same iwae_samples draws, and the likelihood's mean at the
    posterior mean; and under "code_params" the family's params() by name (for the diagonal Gaussian "mean"
    and "log_scale").

    One graph function, traced afresh per call (it closes over this model) and not XLA-compiled: on a
    CPU, XLA's compilation takes longer than this function's run on 10k rows."""
    rows, iwae_block = _per_block(iwae_samples, len(x), max_evaluations)

    def chunk(x, key):
        posterior = model.posterior(x)
        iwae, log_likelihood = _importance_weighted(model, x, posterior, key, iwae_samples, iwae_block)
        return (posterior.mean(), _kl_per_dim(posterior, key), kl_of_rows(posterior, key), iwae, log_likelihood,
                model.likelihood(posterior.mean()).mean(), *posterior.params().values())

    scores = _map_chunks(tf.function(chunk), x, rows, seed)
    return {**dict(zip(SCORES, scores)),
            "code_params": dict(zip(model.posterior_family.parameter_names, scores[len(SCORES):]))}
