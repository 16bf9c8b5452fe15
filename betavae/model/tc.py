"""The beta-TCVAE penalty (Chen et al. 2018): the KL of a batch split into index-code mutual information,
total correlation and dimension-wise KL, the aggregate posterior q(z) and its marginals q(z_j) estimated by
the mixture of the posteriors of the batch's B real rows (padding rows left out):

    log q(z_i) ~ logsumexp_j log q(z_i|x_j) - log B,   log q(z_ij) ~ logsumexp_j log q(z_ij|x_j) - log B.

Its weights, 1 / B each, sum to one. The estimate is biased: the sample's own row weighs 1 / B where it is
one of N rows of the data, and the log of a B-term mean is biased low; both fade as B grows, so its values
depend on the batch size. Chen et al.'s formula subtracts log(N B) instead: weights summing to 1 / N, which
read every log q(z_i) and log q(z_ij) log N too low, so its TC about (latent dim - 1) log N nats too high
(a constant, so the gradients are the same as this estimate's). A stratified alternative that weighs the
own row 1 / N is unbiased for q(z) but rewards models that move to where its log's bias lowers the TC
(a tc run at beta 8 raised its rate from 3 to 8 nats). Per row, mi = log q(z|x) - log q(z),
tc = log q(z) - sum_j log q(z_j), dimension-wise = sum_j log q(z_j) - log p(z): the three sum to
log q(z|x) - log p(z), the single-sample KL, whatever the estimator's bias.
"""
import math

import tensorflow as tf

from betavae.model.distributions import PRIOR


def tc_terms(z, posterior, weights):
    """Per row of the batch, [..., B] each: log q(z|x), the estimates of log q(z) and log prod_j q(z_j) (see the
    module), log p(z), and the parts "mi", "tc", "dimension_wise_kl", as a dict. z: draws [..., B, d] of q(z|x)
    (leading axes for several draws per row); posterior: q(z|x) of the B rows, a distributions.Posterior
    whose log_prob_per_dim broadcasts a sample against every row's parameters (the pairs q(z_i|x_j));
    weights [B]: 0 for padding rows, which take no part in the mixture (their own terms are computed but
    meaningless)."""
    real = weights > 0
    log_rows = tf.math.log(tf.reduce_sum(tf.cast(real, z.dtype)))
    # [..., i, j, d]: sample i of the batch under the posterior of row j; padding columns j at -inf
    pairs = posterior.log_prob_per_dim(z[..., :, None, :])
    pairs = tf.where(real[:, None], pairs, -math.inf)
    log_qz = tf.reduce_logsumexp(tf.reduce_sum(pairs, axis=-1), axis=-1) - log_rows
    log_prod_qzj = tf.reduce_sum(tf.reduce_logsumexp(pairs, axis=-2) - log_rows, axis=-1)
    log_qz_x = tf.reduce_sum(posterior.log_prob_per_dim(z), axis=-1)
    log_pz = tf.reduce_sum(PRIOR.log_prob_per_dim(z), axis=-1)
    return {"log_qz_x": log_qz_x, "log_qz": log_qz, "log_prod_qzj": log_prod_qzj, "log_pz": log_pz,
            "mi": log_qz_x - log_qz, "tc": log_qz - log_prod_qzj, "dimension_wise_kl": log_prod_qzj - log_pz}


def tc_penalty(terms, alpha, beta, gamma):
    """The beta-TCVAE penalty per row (Chen et al. 2018): alpha * MI + beta * TC + gamma * dim-wise KL,
    which replaces beta * KL in the objective; at alpha = beta = gamma = 1 it is the single-sample KL, so
    the objective is the negative ELBO."""
    return alpha * terms["mi"] + beta * terms["tc"] + gamma * terms["dimension_wise_kl"]
