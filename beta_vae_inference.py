"""What a trained beta-VAE is used for: prior samples, reconstructions and log-likelihood estimates.

Each works in chunks of rows, each chunk one XLA-compiled call, so there is no Python loop per sample and
memory stays bounded. Noise is stateless, keyed by (seed, position), so results repeat exactly.
"""
import math

import numpy as np
import tensorflow as tf

from beta_vae_models import LOG_2PI, NOISE_ALGORITHM, gaussian_kl, gaussian_log_density, loss_terms


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


def prior_chunks(model, num_samples, seed, mean_only=False):
    """The rows of sample_prior, chunk by chunk (float32 arrays), so that any number can be streamed."""
    size = max(1, min(SAMPLING_CHUNK, num_samples))  # one chunk size, so one compilation
    for start in range(0, num_samples, size):
        yield _prior_chunk(model, size, _chunk_key(seed, start), mean_only).numpy()[:num_samples - start]


def sample_prior(model, num_samples, seed, mean_only=False):
    """Generate data: z ~ N(0, I) -> decoder -> x, as a float32 array [num_samples, data_dim]."""
    return np.concatenate(list(prior_chunks(model, num_samples, seed, mean_only)))


def reconstruct(model, x, seed, mean_only=False):
    """Reconstruct rows x: encoder -> z ~ q(z|x) -> decoder -> x, as a float32 array like x."""
    return _map_chunks(lambda chunk, key: _reconstruct_chunk(model, chunk, key, mean_only), x, SAMPLING_CHUNK, seed)


def _log_joint(model, x, z):
    """log p(x|z) + log p(z) for z [..., rows, latent_dim] and rows x [rows, data_dim]."""
    x_mean, x_log_scale = model.decode(z)
    log_prior = -0.5 * tf.reduce_sum(tf.square(z) + LOG_2PI, axis=-1)
    return gaussian_log_density(x, x_mean, x_log_scale) + log_prior


def _log_sum_exp(log_sum_exp_of, count, block):
    """log(sum_k exp(w_k)) per row over count terms, where log_sum_exp_of(first) is the log-sum-exp of the
    terms first .. first + block - 1 (those from count on masked out): accumulated block by block in log
    space, so that memory holds one block of terms whatever count is."""
    total = None
    for first in range(0, count, block):
        part = log_sum_exp_of(tf.constant(first))
        total = part if total is None else tf.reduce_logsumexp(tf.stack([total, part]), axis=0)
    return total


def _terms_per_block(count, rows, max_evaluations):
    """How many importance samples or quadrature points go in one block, at most max_evaluations decoder
    passes over a chunk of `rows` rows (at least one)."""
    return max(1, min(count, max_evaluations // rows))


def _masked_log_sum_exp(log_terms, first, count):
    """log-sum-exp over the leading axis of [block, rows] terms, ignoring the terms numbered count or more."""
    number = first + tf.range(tf.shape(log_terms)[0])
    return tf.reduce_logsumexp(tf.where((number < count)[:, None], log_terms, -math.inf), axis=0)


@tf.function(jit_compile=True)
def _iwae_block(model, x, key, first, count, block):
    z_mean, z_log_scale = model.encode(x)
    # Each importance sample's noise is keyed by its own number, so blocking never changes the draws.
    noise = tf.map_fn(lambda number: tf.random.stateless_normal(
        tf.shape(z_mean), seed=tf.random.experimental.stateless_fold_in(key, number), alg=NOISE_ALGORITHM),
        first + tf.range(block), fn_output_signature=tf.float32)
    z = model.reparameterize(z_mean, z_log_scale, noise)
    log_weights = _log_joint(model, x, z) - gaussian_log_density(z, z_mean, z_log_scale)
    return _masked_log_sum_exp(log_weights, first, count)


def iwae_log_likelihood(model, x, num_samples, seed, max_evaluations=1 << 18):
    """Importance-weighted estimate of log p(x) per row (Burda et al. 2016) with q(z|x) as proposal; the
    samples go in blocks so that at most about max_evaluations decoder passes are held at once."""
    rows = max(1, min(SAMPLING_CHUNK, len(x)))
    block = _terms_per_block(num_samples, rows, max_evaluations)
    return _map_chunks(lambda chunk, key: _log_sum_exp(
        lambda first: _iwae_block(model, chunk, key, first, num_samples, block), num_samples, block)
        - math.log(num_samples), x, rows, seed)


@tf.function(jit_compile=True)
def _quadrature_block(model, x, nodes, log_weights, first, block):
    z_mean, z_log_scale = model.encode(x)
    count = tf.shape(nodes)[0]
    taken = tf.minimum(first + tf.range(block), count - 1)  # past the last node: repeats, masked below
    block_nodes, block_log_weights = tf.gather(nodes, taken), tf.gather(log_weights, taken)
    z = z_mean[None] + math.sqrt(2.0) * tf.exp(z_log_scale)[None] * block_nodes[:, None, :]  # [points, rows, d]
    log_volume = tf.reduce_sum(z_log_scale, axis=-1) + 0.5 * model.latent_dim * math.log(2.0)
    return _masked_log_sum_exp(_log_joint(model, x, z) + block_log_weights[:, None], first, count) + log_volume


def quadrature_log_likelihood(model, x, nodes_per_dim=32, max_evaluations=1 << 18):
    """log p(x) per row by adaptive Gauss-Hermite quadrature centred and scaled on q(z|x): deterministic,
    for a latent of 1 or 2 dimensions (nodes_per_dim ** latent_dim decoder passes per row, in blocks)."""
    if model.latent_dim > 2:
        raise ValueError(f"latent_dim {model.latent_dim}: quadrature is for 1 or 2 latent dimensions")
    points, weights = np.polynomial.hermite.hermgauss(nodes_per_dim)
    grids = np.meshgrid(*[points] * model.latent_dim, indexing="ij")
    nodes = np.stack([grid.ravel() for grid in grids], axis=-1)
    # Gauss-Hermite integrates against exp(-t^2); the weights below fold that factor back in.
    log_weights = sum(np.log(np.meshgrid(*[weights] * model.latent_dim, indexing="ij")[i]).ravel()
                      for i in range(model.latent_dim)) + np.sum(nodes ** 2, axis=-1)
    nodes, log_weights = tf.constant(nodes, tf.float32), tf.constant(log_weights, tf.float32)
    rows = max(1, min(SAMPLING_CHUNK, len(x)))
    block = _terms_per_block(len(nodes), rows, max_evaluations)
    return _map_chunks(lambda chunk, _: _log_sum_exp(
        lambda first: _quadrature_block(model, chunk, nodes, log_weights, first, block), len(nodes), block),
        x, rows)


@tf.function(jit_compile=True)
def _encode_chunk(model, x):
    z_mean, z_log_scale = model.encode(x)
    return z_mean, gaussian_kl(z_mean[:, :, None], z_log_scale[:, :, None])


def encode_with_kl(model, x):
    """Encoder means [rows, latent_dim] and the KL of each latent dimension [rows, latent_dim]."""
    return _map_chunks(lambda chunk, _: _encode_chunk(model, chunk), x, SAMPLING_CHUNK)


@tf.function(jit_compile=True)
def _terms_chunk(model, x, num_samples, key):
    noise = tf.random.stateless_normal(tf.stack([num_samples, tf.shape(x)[0], model.latent_dim]), seed=key,
                                       alg=NOISE_ALGORITHM)
    return loss_terms(model, x, noise)


def expected_loss_terms(model, x, num_samples, seed, max_evaluations=1 << 18):
    """Per-row KL and E_q[log p(x|z)] with num_samples draws of z: precise estimates for evaluation."""
    return _map_chunks(lambda chunk, key: _terms_chunk(model, chunk, num_samples, key),
                       x, max_evaluations // num_samples, seed)
