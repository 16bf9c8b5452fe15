"""The beta-VAE (Higgins et al. 2017; Kingma & Welling 2013): model, loss and training steps, free of any CLI.

Objective per sample, in nats:  beta * KL(q(z|x) || N(0, I)) - E_q[log p(x|z)],
summed over dimensions and averaged over the batch. beta = 1 is the plain VAE (the negative ELBO). That and
the other objectives are classes in betavae/model/objectives.py, which the Trainer is given.
"""
import math

import tensorflow as tf

from betavae.fields import require
from betavae.model.compilation import graph_function
from betavae.model.distributions import expectation, likelihood_family, posterior_family
from betavae.model.layers import gaussian_decoder, posterior_encoder
from betavae.model.objectives import BatchTerms
from betavae.objectives import BASE_METRICS

keras = tf.keras

NOISE_ALGORITHM = "philox"
# What each choice of --optimizer and of --lr-schedule (betavae.fields) means.
OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}
LEARNING_RATE_SCHEDULES = {
    "constant": lambda epoch, lr, epochs: float(lr),
    "cosine": lambda epoch, lr, epochs: float(lr) * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs)),
}


class BetaVAE(keras.Model):
    """Encoder q(z|x) and decoder p(x|z), in the data's own units: the layers give their raw parameters
    (encode, decode), the families named by `posterior` and `likelihood` (betavae.model.distributions;
    diagonal Gaussians by default) make them distributions (posterior, likelihood). components and flow_steps: the
    sizes of a mixture posterior and of a flow posterior (Posterior.head_units; other families ignore them).

    The data are standardised inside (x - shift) / scale, so any offset and scale trains alike, while every
    mean, scale and log-density this model returns is in the data's units."""

    def __init__(self, data_dim, latent_dim, hidden_units, data_shift, data_scale, posterior="diagonal_gaussian",
                 likelihood="gaussian", components=2, flow_steps=4, **kwargs):
        super().__init__(**kwargs)
        self.posterior_family = posterior_family(posterior)
        self.likelihood_family = likelihood_family(likelihood)
        self.data_dim = data_dim
        self.latent_dim = latent_dim
        self.hidden_units = hidden_units
        self.data_shift = tf.constant(data_shift, dtype=tf.float32, shape=[data_dim])
        self.data_scale = tf.constant(data_scale, dtype=tf.float32, shape=[data_dim])
        head_units = self.posterior_family.head_units(latent_dim, components=components, flow_steps=flow_steps)
        self.encoder = posterior_encoder(head_units, hidden_units)
        self.decoder = gaussian_decoder(data_dim, hidden_units)
        self.decode(tf.zeros([1, latent_dim]))  # create the weights now, so a checkpoint restores at once
        self.encode(tf.zeros([1, data_dim]))

    def encode(self, x):
        """The encoder's raw parameters of q(z|x), in the family's order (for the diagonal Gaussian: mean and
        log sigma of the latent, each [batch, latent_dim])."""
        return self.posterior_family.split_head(self.encoder((x - self.data_shift) / self.data_scale),
                                                self.latent_dim)

    def posterior(self, x):
        """q(z|x) of rows x: the posterior family's object (distributions.Posterior)."""
        return self.posterior_family(*self.encode(x))

    def likelihood(self, z):
        """p(x|z) of latent rows z [..., latent_dim]: the likelihood family's object, in the data's units."""
        return self.likelihood_family(*self.decode(z))

    def decode(self, z):
        """The decoder's raw parameters of p(x|z): mean and log-scale of x in the data's units, each
        [..., data_dim]."""
        mean, log_scale = self.decoder(z)
        return self.data_shift + self.data_scale * mean, log_scale + tf.math.log(self.data_scale)

    def call(self, x):
        """Decoder mean at the posterior mean: a deterministic reconstruction."""
        return self.likelihood(self.posterior(x).mean()).mean()


def loss_terms(model, x, noise):
    """Per-sample KL and expected log-likelihood E_q[log p(x|z)] (averaged over the noise draws), [batch] each.

    noise: [mc_samples, batch, latent_dim] standard normal draws for the reparameterisation."""
    terms = batch_terms(model, x, tf.ones(tf.shape(x)[:1]), noise)
    return terms.kl, terms.log_likelihood


def batch_terms(model, x, weights, noise):
    """The BatchTerms of rows x (weighted) that every objective is computed from: the KL (the posterior
    family's closed form, or its Monte-Carlo estimate from the draws z), the expected log-likelihood, the
    posterior and its samples z (the family's weighted_sample: draws and their weights), the weighted batch
    means, and log p(x|z) of the rows at other draws (the decoder runs again only for an objective that
    calls it)."""
    posterior = model.posterior(x)
    z, log_draw_weights = posterior.weighted_sample(noise)
    kl = posterior.kl_to_prior(z, log_draw_weights)
    log_likelihood_draws = model.likelihood(z).log_prob(x)
    log_likelihood = expectation(log_likelihood_draws, log_draw_weights)
    kl_mean, log_likelihood_mean = tf.unstack(weighted_means(weights, kl, log_likelihood))
    return BatchTerms(weights, kl, log_likelihood, log_likelihood_draws, z, posterior, kl_mean,
                      log_likelihood_mean, lambda other_z: model.likelihood(other_z).log_prob(x), log_draw_weights)


class EpochMetrics(dict):
    """Row-weighted means over an epoch or a set of rows, in nats per row: {metric: value} in the objective's
    order (betavae.objectives), each also an attribute (metrics.loss, metrics.kl, metrics.log_likelihood)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def linear_ramp(epoch, final, ramp_epochs):
    """A value rising linearly from 0 at epoch 0 to `final` at epoch `ramp_epochs`, then constant: the
    schedule of KL warm-up (beta) and of the capacity C. ramp_epochs 0 means `final` from the start."""
    return float(final) if ramp_epochs <= 0 else float(final) * min(1.0, epoch / ramp_epochs)


def scheduled_learning_rate(epoch, lr, epochs, schedule):
    """The learning rate of an epoch: constant, or cosine-decayed from lr towards 0 over the run (Loshchilov &
    Hutter 2017), so Adam leaves its noise floor and settles on the optimum. A pure function of the epoch,
    so a resumed run takes exactly the rates an uninterrupted one would."""
    require("lr_schedule", schedule)
    return LEARNING_RATE_SCHEDULES[schedule](epoch, lr, epochs)


def weighted_means(weights, *per_sample):
    """Means over the rows of a batch, each row counted with its weight (0 for padding rows)."""
    total = tf.reduce_sum(weights)
    return tf.stack([tf.reduce_sum(weights * values) / total for values in per_sample])


def make_optimizer(name, learning_rate):
    """The optimizer named by --optimizer."""
    require("optimizer", name)
    return OPTIMIZERS[name](learning_rate)


class Trainer:
    """Gradient steps on an objective (betavae.model.objectives). Noise is drawn statelessly from (seed, step),
    so the compiled whole-epoch path and the plain per-step path take exactly the same random draws. Both are
    compiled alike (by XLA unless BETAVAE_XLA=0, model.compilation), because XLA's random kernels give other
    numbers than TensorFlow's for the same seed."""

    def __init__(self, model, optimizer, objective, seed, mc_samples=1, metrics=BASE_METRICS):
        """`beta` and `capacity` are the objective's schedule variables, so the loop changes them between
        epochs without recompiling. metrics: the names of the values objective.batch_metrics gives."""
        self.model = model
        self.optimizer = optimizer
        self.objective = objective
        self.metrics = tuple(metrics)
        self.beta, self.capacity = objective.beta, objective.capacity
        self.seed = int(seed)
        self.mc_samples = int(mc_samples)
        optimizer.build(model.trainable_variables)
        self.train_step = graph_function(self._step)
        self._compiled_epoch = graph_function(self._epoch)
        self._evaluate = graph_function(self._evaluate_terms)

    def _noise(self, batch_size, key):
        shape = tf.stack([self.mc_samples, batch_size, self.model.latent_dim])
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(key, tf.int64)])
        return tf.random.stateless_normal(shape, seed=seed, alg=NOISE_ALGORITHM)

    def _step(self, x, weights, step):
        """One gradient step on batch x (rows weighted); returns the batch means of the metrics, the loss first."""
        noise = self._noise(tf.shape(x)[0], step)
        with tf.GradientTape() as tape:
            means = self._means(x, weights, noise)
            loss = means[0]
        variables = self.model.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return means

    def _means(self, x, weights, noise):
        """Batch means of the metrics of rows x (the objective's loss, the KL, E_q log p(x|z), ...)."""
        terms = batch_terms(self.model, x, weights, noise)
        return tf.stack(self.objective.batch_metrics(terms))

    def _named(self, values):
        return EpochMetrics(zip(self.metrics, values.numpy()))

    def _epoch(self, data, indices, weights, first_step):
        """All batches of an epoch (rows of data picked by indices [n, B]) in one compiled loop; returns the
        row-weighted means of the metrics."""
        totals = tf.zeros([len(self.metrics)])
        for i in tf.range(tf.shape(indices)[0]):
            batch = tf.gather(data, indices[i])
            totals += self._step(batch, weights[i], first_step + tf.cast(i, tf.int64)) * tf.reduce_sum(weights[i])
        return totals / tf.reduce_sum(weights)

    def run_epoch(self, data, indices, weights, first_step, compiled=True):
        """Train on one epoch: data [rows, D] (a tensor, kept on the device across epochs), the order from
        data_processing.epoch_order; in one compiled call, or step by step. Returns the EpochMetrics."""
        indices = tf.constant(indices)
        weights = tf.constant(weights, tf.float32)
        if compiled:
            means = self._compiled_epoch(data, indices, weights, tf.constant(first_step, tf.int64))
            return self._named(means)
        return self.run_batches(((tf.gather(data, indices[i]), weights[i]) for i in range(indices.shape[0])),
                                first_step)

    def run_batches(self, batches, first_step):
        """Train step by step on (rows, row weights) batches, e.g. streamed from disk by tf.data; returns the
        EpochMetrics."""
        totals, rows = tf.zeros([len(self.metrics)]), 0.0
        for step, (x, weights) in enumerate(batches, start=first_step):
            batch_rows = tf.reduce_sum(weights)
            totals += self.train_step(x, weights, tf.constant(step, tf.int64)) * batch_rows
            rows += batch_rows
        return self._named(totals / rows)

    def _evaluate_terms(self, x, key):
        noise = self._noise(tf.shape(x)[0], key)
        return self._means(x, tf.ones([tf.shape(x)[0]]), noise)

    def evaluate(self, x, key):
        """The EpochMetrics of rows x without training; `key` picks the noise draw."""
        return self._named(self._evaluate(tf.convert_to_tensor(x, tf.float32), tf.constant(key, tf.int64)))
