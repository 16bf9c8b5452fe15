"""The beta-TCVAE penalty (Chen et al. 2018): the KL of a batch split into index-code mutual information,
total correlation and dimension-wise KL, the aggregate posterior q(z) and its marginals q(z_j) estimated from
the batch by importance weights that sum to one over its B real rows (padding rows left out), for a dataset
of N rows:

    q(z_i) ~ q(z_i|x_i) / N + (N - 1) / (N (B - 1)) sum_{j != i} q(z_i|x_j),   alike for each q(z_ij),

the sample's own row standing for itself and the B - 1 others for the N - 1 rows it was not drawn from (an
unbiased estimate of q(z_i); its log is biased low, less so for larger batches). Chen et al.'s own formula,
weight 1 / (N B) for every row, sums to 1 / N: it reads every log q(z_i) and log q(z_ij) log N too low, so
its TC is about (latent dim - 1) log N nats too high, its MI log N too high and its dimension-wise KL
(latent dim) log N too low. Per row, mi = log q(z|x) - log q(z), tc = log q(z) - sum_j log q(z_j),
dimension-wise = sum_j log q(z_j) - log p(z): the three sum to log q(z|x) - log p(z), the single-sample KL,
whatever the estimator's bias.
"""
import math

import tensorflow as tf

from betavae.model.distributions import PRIOR


def log_mixture_weights(real, dataset_size, dtype):
    """[B, B] log weight of row j's posterior in the estimate of q(z_i) for the sample of row i: log 1/N on the
    diagonal, log (N - 1) / (N (B - 1)) off it, -inf in the columns of padding rows (real: [B] booleans); a
    batch of one real row weighs it 1, the only estimate it has."""
    rows = tf.reduce_sum(tf.cast(real, dtype))
    size = tf.cast(dataset_size, dtype)
    own = tf.where(rows > 1, -tf.math.log(size), tf.zeros([], dtype))
    other = tf.math.log(size - 1) - tf.math.log(size) - tf.math.log(tf.maximum(rows - 1, 1))
    batch = tf.shape(real)[0]
    weights = tf.where(tf.eye(batch, dtype=tf.bool), own, other)
    return tf.where(real[None, :], weights, -math.inf)


def tc_terms(z, posterior, weights, dataset_size):
    """Per row of the batch, [..., B] each: log q(z|x), the estimates of log q(z) and log prod_j q(z_j) (see the
    module), log p(z), and the parts "mi", "tc", "dimension_wise_kl", as a dict. z: draws [..., B, d] of q(z|x)
    (leading axes for several draws per row); posterior: q(z|x) of the B rows, a distributions.Posterior
    whose log_prob_per_dim broadcasts a sample against every row's parameters (the pairs q(z_i|x_j));
    weights [B]: 0 for padding rows, which take no part in the mixture (their own terms are computed but
    meaningless); dataset_size: N."""
    log_weights = log_mixture_weights(weights > 0, dataset_size, z.dtype)
    # [..., i, j, d]: sample i of the batch under the posterior of row j
    pairs = posterior.log_prob_per_dim(z[..., :, None, :])
    log_qz = tf.reduce_logsumexp(tf.reduce_sum(pairs, axis=-1) + log_weights, axis=-1)
    log_prod_qzj = tf.reduce_sum(tf.reduce_logsumexp(pairs + log_weights[:, :, None], axis=-2), axis=-1)
    log_qz_x = tf.reduce_sum(posterior.log_prob_per_dim(z), axis=-1)
    log_pz = tf.reduce_sum(PRIOR.log_prob_per_dim(z), axis=-1)
    return {"log_qz_x": log_qz_x, "log_qz": log_qz, "log_prod_qzj": log_prod_qzj, "log_pz": log_pz,
            "mi": log_qz_x - log_qz, "tc": log_qz - log_prod_qzj, "dimension_wise_kl": log_prod_qzj - log_pz}


def tc_penalty(terms, alpha, beta, gamma):
    """The beta-TCVAE penalty per row (Chen et al. 2018): alpha * MI + beta * TC + gamma * dim-wise KL,
    which replaces beta * KL in the objective; at alpha = beta = gamma = 1 it is the single-sample KL, so
    the objective is the negative ELBO."""
    return alpha * terms["mi"] + beta * terms["tc"] + gamma * terms["dimension_wise_kl"]
