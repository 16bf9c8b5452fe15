"""What a trained beta-VAE is used for: prior samples, reconstructions and log-likelihood estimates.

Each works in chunks of rows, each chunk one XLA-compiled call, so there is no Python loop per sample and
memory stays bounded. Noise is stateless, keyed by (seed, position), so results repeat exactly.
"""
import math

import numpy as np
import tensorflow as tf

from beta_vae_models import LOG_2PI, NOISE_ALGORITHM, gaussian_kl, gaussian_log_density


def _draw(model, z, key, mean_only):
    """x from p(x|z): the decoder mean, or a draw from the decoder's Gaussian (noise keyed by key)."""
    x_mean, x_log_scale = model.decode(z)
    if mean_only:
        return x_mean
    noise = tf.random.stateless_normal(tf.shape(x_mean), seed=key, alg=NOISE_ALGORITHM)
    return x_mean + tf.exp(x_log_scale) * noise


@tf.function(jit_compile=True)
def _prior_chunk(model, num_samples, key, mean_only):
    z = tf.random.stateless_normal([num_samples, model.latent_dim], seed=key, alg=NOISE_ALGORITHM)
    return _draw(model, z, key + [0, 1], mean_only)


@tf.function(jit_compile=True)
def _reconstruct_chunk(model, x, key, mean_only):
    z_mean, z_log_scale = model.encode(x)
    noise = tf.random.stateless_normal(tf.shape(z_mean), seed=key, alg=NOISE_ALGORITHM)
    return _draw(model, model.reparameterize(z_mean, z_log_scale, noise), key + [0, 1], mean_only)


SAMPLING_CHUNK = 1 << 14  # rows per compiled call: amortises the call while the activations stay in cache


def _chunk_key(seed, start):
    """The noise seed of the chunk starting at row `start`: (seed, 2 * start), leaving (seed, 2 * start + 1)
    free for the chunk's second draw, so no two chunks or draws share a key."""
    return tf.constant([seed, 2 * start], tf.int64)


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


def sample_prior(model, num_samples, seed, mean_only=False, compiled=True):
    """Generate data: z ~ N(0, I) -> decoder -> x, as a float32 array [num_samples, data_dim].

    compiled=False runs the same ops eagerly: slower per sample, but without the XLA compilation that
    costs more than a few thousand samples do (XLA's random streams differ, so the samples do too)."""
    size = max(1, min(SAMPLING_CHUNK, num_samples))  # one chunk size, so one compilation
    chunk = _prior_chunk if compiled else _prior_chunk.python_function
    chunks = [chunk(model, size, _chunk_key(seed, start), mean_only) for start in range(0, num_samples, size)]
    return tf.concat(chunks, axis=0).numpy()[:num_samples]


def reconstruct(model, x, seed, mean_only=False):
    """Reconstruct rows x: encoder -> z ~ q(z|x) -> decoder -> x, as a float32 array like x."""
    return _map_chunks(lambda chunk, key: _reconstruct_chunk(model, chunk, key, mean_only), x, SAMPLING_CHUNK, seed)


def _log_joint(model, x, z):
    """log p(x|z) and log p(z), each [..., rows], for z [..., rows, latent_dim] and rows x [rows, data_dim]."""
    x_mean, x_log_scale = model.decode(z)
    log_prior = -0.5 * tf.reduce_sum(tf.square(z) + LOG_2PI, axis=-1)
    return gaussian_log_density(x, x_mean, x_log_scale), log_prior


def _importance_weighted(model, x, z_mean, z_log_scale, noise):
    """Per row, over the draws z = mean + sigma * noise [K, rows, latent_dim] of q(z|x): the log of the
    summed importance weights p(x, z) / q(z|x), and the summed log p(x|z). Divided by K (the first in log
    space), they give the IWAE estimate of log p(x) and E_q[log p(x|z)]; as sums, groups of draws add up."""
    z = model.reparameterize(z_mean, z_log_scale, noise)
    log_likelihood, log_prior = _log_joint(model, x, z)
    log_weights = log_likelihood + log_prior - gaussian_log_density(z, z_mean, z_log_scale)
    return tf.reduce_logsumexp(log_weights, axis=0), tf.reduce_sum(log_likelihood, axis=0)


def _importance_noise(x, num_samples, latent_dim, key):
    """num_samples standard normal draws per row of x, [num_samples, rows, latent_dim], keyed by key."""
    return tf.random.stateless_normal(tf.stack([num_samples, tf.shape(x)[0], latent_dim]), seed=key,
                                      alg=NOISE_ALGORITHM)


@tf.function(jit_compile=True)
def _iwae_chunk(model, x, num_samples, key):
    z_mean, z_log_scale = model.encode(x)
    noise = _importance_noise(x, num_samples, model.latent_dim, key)
    log_weight_sum = _importance_weighted(model, x, z_mean, z_log_scale, noise)[0]
    return log_weight_sum - tf.math.log(tf.cast(num_samples, tf.float32))


def iwae_log_likelihood(model, x, num_samples, seed, max_evaluations=1 << 18):
    """Importance-weighted estimate of log p(x) per row (Burda et al. 2016) with q(z|x) as proposal;
    rows go in chunks so that at most max_evaluations decoder passes are held in memory at once."""
    return _map_chunks(lambda chunk, key: _iwae_chunk(model, chunk, num_samples, key),
                       x, max_evaluations // num_samples, seed)


def _quadrature(model, x, z_mean, z_log_scale, nodes, log_weights):
    """log p(x) per row by Gauss-Hermite quadrature on the grid `nodes` centred and scaled on q(z|x)."""
    z = z_mean[None] + math.sqrt(2.0) * tf.exp(z_log_scale)[None] * nodes[:, None, :]  # [points, rows, d]
    log_volume = tf.reduce_sum(z_log_scale, axis=-1) + 0.5 * model.latent_dim * math.log(2.0)
    return tf.reduce_logsumexp(tf.add_n(_log_joint(model, x, z)) + log_weights[:, None], axis=0) + log_volume


@tf.function(jit_compile=True)
def _quadrature_chunk(model, x, nodes, log_weights):
    z_mean, z_log_scale = model.encode(x)
    return _quadrature(model, x, z_mean, z_log_scale, nodes, log_weights)


def _hermite_grid(latent_dim, nodes_per_dim):
    """The Gauss-Hermite nodes [nodes_per_dim ** latent_dim, latent_dim] and their log-weights for
    integrating against N(0, I) centred nodes; latent_dim must be 1 or 2."""
    if latent_dim > 2:
        raise ValueError(f"latent_dim {latent_dim}: quadrature is for 1 or 2 latent dimensions")
    points, weights = np.polynomial.hermite.hermgauss(nodes_per_dim)
    grids = np.meshgrid(*[points] * latent_dim, indexing="ij")
    nodes = np.stack([grid.ravel() for grid in grids], axis=-1)
    # Gauss-Hermite integrates against exp(-t^2); the weights below fold that factor back in.
    log_weights = sum(np.log(np.meshgrid(*[weights] * latent_dim, indexing="ij")[i]).ravel()
                      for i in range(latent_dim)) + np.sum(nodes ** 2, axis=-1)
    return tf.constant(nodes, tf.float32), tf.constant(log_weights, tf.float32)


def quadrature_log_likelihood(model, x, nodes_per_dim=32, max_evaluations=1 << 18):
    """log p(x) per row by adaptive Gauss-Hermite quadrature centred and scaled on q(z|x): deterministic,
    for a latent of 1 or 2 dimensions (nodes_per_dim ** latent_dim decoder passes per row)."""
    nodes, log_weights = _hermite_grid(model.latent_dim, nodes_per_dim)
    return _map_chunks(lambda chunk, _: _quadrature_chunk(model, chunk, nodes, log_weights),
                       x, max_evaluations // len(nodes))


def _kl_per_dim(z_mean, z_log_scale):
    """KL(q(z_j|x) || N(0, 1)) of each latent dimension j, [rows, latent_dim]."""
    return gaussian_kl(z_mean[:, :, None], z_log_scale[:, :, None])


@tf.function(jit_compile=True)
def _encode_chunk(model, x):
    z_mean, z_log_scale = model.encode(x)
    return z_mean, _kl_per_dim(z_mean, z_log_scale)


def encode_with_kl(model, x):
    """Encoder means [rows, latent_dim] and the KL of each latent dimension [rows, latent_dim]."""
    return _map_chunks(lambda chunk, _: _encode_chunk(model, chunk), x, SAMPLING_CHUNK)


SCORES = ("code_means", "kl_per_dim", "iwae", "log_likelihood", "recon_means", "quadrature")


def score_rows(model, x, iwae_samples, seed, nodes_per_dim=None, max_evaluations=1 << 17):
    """Every per-row score of an evaluation from one encoder pass, as a dict of arrays named by SCORES:
    encoder means, KL per latent dimension, IWAE log p(x) and E_q[log p(x|z)] from the same iwae_samples
    draws, the decoder mean at the encoder mean, and the quadrature log p(x) (None without nodes_per_dim).

    At most about max_evaluations decoder passes are in memory at once, for any iwae_samples: rows go in
    chunks, and each chunk's draws in groups (keyed by folding the group's index into the chunk's key).
    One graph function, traced afresh per call (it closes over this model) and not XLA-compiled: on a
    CPU, XLA's compilation takes longer than this function's run on 10k rows."""
    nodes, log_weights = (_hermite_grid(model.latent_dim, nodes_per_dim) if nodes_per_dim
                          else (tf.zeros([0, model.latent_dim]), None))
    group = min(iwae_samples, max_evaluations)

    def chunk(x, key):
        z_mean, z_log_scale = model.encode(x)

        def add_group(index, log_weight_sum, log_likelihood_sum):
            size = tf.minimum(group, iwae_samples - index * group)
            noise = _importance_noise(x, size, model.latent_dim, tf.random.experimental.stateless_fold_in(key, index))
            weights, likelihoods = _importance_weighted(model, x, z_mean, z_log_scale, noise)
            log_weight_sum = tf.reduce_logsumexp(tf.stack([log_weight_sum, weights]), axis=0)
            return index + 1, log_weight_sum, log_likelihood_sum + likelihoods

        empty = tf.zeros(tf.shape(x)[:1])
        _, log_weight_sum, log_likelihood_sum = tf.while_loop(
            lambda index, *_: index * group < iwae_samples, add_group, (0, empty - np.inf, empty))
        quadrature = (_quadrature(model, x, z_mean, z_log_scale, nodes, log_weights) if nodes_per_dim else empty)
        return (z_mean, _kl_per_dim(z_mean, z_log_scale), log_weight_sum - math.log(iwae_samples),
                log_likelihood_sum / iwae_samples, model.decode(z_mean)[0], quadrature)

    rows = max(1, max_evaluations // (group + len(nodes)))
    scores = dict(zip(SCORES, _map_chunks(tf.function(chunk), x, rows, seed)))
    return {**scores, "quadrature": scores["quadrature"] if nodes_per_dim else None}
