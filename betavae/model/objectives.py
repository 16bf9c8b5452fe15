"""Training objectives of the beta-VAE: each a class whose one method, `batch_loss`, turns the terms of a batch
into the loss minimised. A new objective is a new class; the Trainer hands every objective the same terms.

Losses are in nats per row, to be minimised (the papers' objectives negated).
"""
import math
from typing import NamedTuple

import tensorflow as tf

from betavae.fields import require
from betavae.model.distributions import PRIOR
from betavae.model.tc import tc_penalty, tc_terms
from betavae.objectives import BASE_METRICS, OBJECTIVES, objective_of


class BatchTerms(NamedTuple):
    """What an objective may need of one batch: per-row tensors ([batch] unless said) and the row-weighted
    batch means of the KL and the log-likelihood (what the epoch metrics report)."""
    weights: tf.Tensor  # each row's weight: 1, or 0 for the padding rows of a last partial batch
    kl: tf.Tensor  # KL(q(z|x) || N(0, I)): closed form, or the family's Monte-Carlo one from z
    log_likelihood: tf.Tensor  # E_q[log p(x|z)], averaged over the noise draws
    log_likelihood_draws: tf.Tensor  # [draws, batch] log p(x|z) at each draw z
    z: tf.Tensor  # [draws, batch, latent_dim] samples of q(z|x): mc_samples, of each component for a mixture
    posterior: object  # q(z|x) of the rows, a betavae.model.distributions.Posterior (parameters [batch, latent_dim])
    kl_mean: tf.Tensor  # scalar, row-weighted
    log_likelihood_mean: tf.Tensor  # scalar, row-weighted
    log_likelihood_at: object  # z [K, batch, latent_dim] -> [K, batch] log p(x|z) of the rows at other draws z
    log_draw_weights: object  # [draws, batch] log weight of each draw z (sum 1 per row), or None: equal


def beta_objective(kl, log_likelihood, beta):
    """The beta-VAE loss per sample (Higgins et al. 2017, eq. 4, negated): beta * KL - E_q log p(x|z)."""
    return beta * kl - log_likelihood


def capacity_objective(kl, log_likelihood, gamma, capacity):
    """The capacity-annealed objective (Burgess et al. 2018, eq. 8, negated): gamma * |KL - C| - E_q log p(x|z),
    on batch means, so the KL is pulled towards the target capacity C rather than towards 0."""
    return gamma * tf.abs(kl - capacity) - log_likelihood


class Objective:
    """The loss a Trainer minimises. `beta` (the KL weight, under warm-up) and `capacity` (C) are variables that
    the training loop assigns each epoch, so a schedule changes them without recompiling; an objective uses
    those it needs. dataset_size: the number of training rows, for estimators that weight a minibatch by it
    (e.g. minibatch-weighted sampling of the aggregate posterior)."""

    name = None  # what evaluation.json calls it

    def __init__(self, beta, dataset_size=None):
        self.beta = tf.Variable(float(beta), trainable=False, dtype=tf.float32, name="beta")
        self.capacity = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="capacity")
        self.dataset_size = dataset_size

    @classmethod
    def from_config(cls, config):
        """The objective with a run config's weights."""
        return cls(config.beta, config.train_rows)

    def batch_loss(self, terms):
        """The scalar loss of one batch (a tensor, traced inside the compiled step) from its BatchTerms."""
        raise NotImplementedError

    def batch_metrics(self, terms):
        """The batch's values of the objective's named epoch metrics (betavae.objectives: `metrics`), in
        their order: the loss, the KL and E_q log p(x|z), then any terms of its own."""
        return [self.batch_loss(terms), terms.kl_mean, terms.log_likelihood_mean]


class BetaObjective(Objective):
    """beta * KL - E_q log p(x|z) on batch means (Higgins et al. 2017); beta = 1 is the negative ELBO."""

    name = "beta"

    def batch_loss(self, terms):
        return beta_objective(terms.kl_mean, terms.log_likelihood_mean, self.beta)


class CapacityObjective(Objective):
    """gamma * |KL - C| - E_q log p(x|z) on batch means (Burgess et al. 2018), C following its schedule."""

    name = "capacity"

    def __init__(self, beta, gamma, dataset_size=None):
        super().__init__(beta, dataset_size)
        self.gamma = float(gamma)

    @classmethod
    def from_config(cls, config):
        return cls(config.beta, config.gamma, config.train_rows)

    def batch_loss(self, terms):
        return capacity_objective(terms.kl_mean, terms.log_likelihood_mean, self.gamma, self.capacity)


class TCObjective(Objective):
    """beta-TCVAE (Chen et al. 2018): alpha * MI + beta * TC + gamma * dimension-wise KL - E_q log p(x|z), the
    three parts of the KL estimated per row from the batch's real rows (betavae.model.tc), averaged over the
    noise draws, then row-weighted. At alpha = beta = gamma = 1 the parts sum to the single-sample KL: the
    negative ELBO."""

    name = "tc"
    parts = OBJECTIVES["tc"].metrics[len(BASE_METRICS):]  # its own epoch metrics: MI, TC, dimension-wise KL

    def __init__(self, beta, alpha, gamma, dataset_size):
        super().__init__(beta, dataset_size)
        self.alpha, self.gamma = float(alpha), float(gamma)

    @classmethod
    def from_config(cls, config):
        return cls(config.beta, config.alpha, config.gamma, config.train_rows)

    def _part_means(self, terms):
        """The row-weighted batch means of MI, TC and dimension-wise KL, each averaged over the noise draws."""
        parts = tc_terms(terms.z, terms.posterior, terms.weights)
        total = tf.reduce_sum(terms.weights)
        return {name: tf.reduce_sum(terms.weights * tf.reduce_mean(parts[name], axis=0)) / total for name in self.parts}

    def _loss(self, means, terms):
        return tc_penalty(means, self.alpha, self.beta, self.gamma) - terms.log_likelihood_mean

    def batch_loss(self, terms):
        return self._loss(self._part_means(terms), terms)

    def batch_metrics(self, terms):
        """The loss, the KL, E_q log p(x|z), then MI, TC and dimension-wise KL (the loss is alpha MI + beta TC
        + gamma dimension-wise KL - E_q log p(x|z) of these, exactly)."""
        means = self._part_means(terms)
        return [self._loss(means, terms), terms.kl_mean, terms.log_likelihood_mean, *means.values()]


def importance_log_weights(log_likelihood_draws, z, posterior):
    """log p(x, z_k) - log q(z_k|x) of the K draws z [K, batch, latent_dim] of the posterior q: [K, batch]."""
    return log_likelihood_draws + PRIOR.log_prob(z) - posterior.log_prob(z)


def log_mean_exp(log_weights, log_draw_weights=None):
    """log (1/K) sum_k exp(log_weights_k) over the first axis of [K, batch]; with log_draw_weights [K, batch]
    (summing to 1 per row), log sum_k exp(log_draw_weights_k + log_weights_k)."""
    if log_draw_weights is None:
        return tf.reduce_logsumexp(log_weights, axis=0) - math.log(log_weights.shape[0])
    return tf.reduce_logsumexp(log_draw_weights + log_weights, axis=0)


def importance_weighted_bound(log_likelihood_draws, z, posterior, log_draw_weights=None):
    """The importance-weighted bound per row (Burda et al. 2016, eq. 8): log (1/K) sum_k p(x, z_k) / q(z_k|x)
    over the K draws z [K, batch, latent_dim] of the posterior q; [batch]. K = 1 is a one-draw estimate of
    the ELBO; it rises towards log p(x) as K grows. With the draws' weights of a stratified sample (a
    mixture's, per component), the stratified bound log sum_k weight_k p(x, z_k) / q(z_k|x) (SIWAE,
    Morningstar et al. 2021, eq. 4)."""
    return log_mean_exp(importance_log_weights(log_likelihood_draws, z, posterior), log_draw_weights)


def doubly_reparameterized_bound(log_likelihood_draws, log_likelihood_at, z, posterior):
    """The importance-weighted bound per row, [batch], as a surrogate whose value is importance_weighted_bound's
    and whose gradient is the doubly reparameterised estimator's (IWAE-DReG, Tucker et al. 2019, eq. 5): the
    encoder's gradient sum_k w_k^2 d log w_k / d z_k dz_k/dphi, with the normalised weights w_k held constant
    and log q evaluated with its parameters held constant (so the encoder is reached only through z); the
    decoder's gradient sum_k w_k d log p(x|z_k) / d theta, the bound's own. log_likelihood_at(z): log p(x|z) at
    other draws, here at z held constant, so that the decoder's part does not reach the encoder."""
    log_weights = importance_log_weights(log_likelihood_draws, z, posterior.stopped())
    normalized = tf.stop_gradient(tf.nn.softmax(log_weights, axis=0))
    decoder_part = log_likelihood_at(tf.stop_gradient(z))
    # The decoder's gradients of the two terms in w_k^2 cancel (equal values, z held in the second).
    surrogate = tf.reduce_sum(tf.square(normalized) * (log_weights - decoder_part) + normalized * decoder_part,
                              axis=0)
    return tf.stop_gradient(log_mean_exp(log_weights)) + surrogate - tf.stop_gradient(surrogate)


class IWAEObjective(Objective):
    """The negative importance-weighted bound over --mc-samples draws (Burda et al. 2016), row-weighted: a
    tighter bound on -log p(x) than the negative ELBO, so the decoder is not bent towards posteriors that a
    Gaussian q(z|x) fits. It has no beta (beta is 1). gradient: `plain`, the bound's reparameterised
    gradient, or `dreg`, the same loss with the doubly reparameterised gradient (doubly_reparameterized_bound)."""

    name = "iwae"

    def __init__(self, beta, dataset_size=None, gradient="plain"):
        super().__init__(beta, dataset_size)
        require("iwae_gradient", gradient)
        self.gradient = gradient

    @classmethod
    def from_config(cls, config):
        return cls(config.beta, config.train_rows, config.iwae_gradient)

    def batch_loss(self, terms):
        if self.gradient == "dreg":
            if terms.log_draw_weights is not None:
                raise ValueError(f"iwae_gradient dreg: not defined for weighted draws (posterior "
                                 f"{terms.posterior.name}); expected equally weighted ones")
            bound = doubly_reparameterized_bound(terms.log_likelihood_draws, terms.log_likelihood_at, terms.z,
                                                 terms.posterior)
        else:
            bound = importance_weighted_bound(terms.log_likelihood_draws, terms.z, terms.posterior,
                                              terms.log_draw_weights)
        return -tf.reduce_sum(terms.weights * bound) / tf.reduce_sum(terms.weights)


# The loss of each objective, by the name under which betavae.objectives registers its meaning.
LOSSES = {objective.name: objective for objective in (BetaObjective, CapacityObjective, TCObjective, IWAEObjective)}


def objective_for(config):
    """The loss object of the objective a run's config trains (betavae.objectives.objective_of: capacity
    whenever it sets a capacity, else its `objective`), with the config's weights."""
    return LOSSES[objective_of(config).name].from_config(config)
