"""The model's distributions as objects, in the manner of TensorFlow Probability's (without it): the posterior
q(z|x), the likelihood p(x|z) and the prior N(0, I). The encoder and decoder layers (layers.py) produce raw
parameters (a posterior family sizes and splits the encoder's head: head_units, split_head); the model
(vae.py, `BetaVAE.posterior` and `BetaVAE.likelihood`) wraps them in the object of the run's family, and the
objectives, the beta-TCVAE terms, inference and export use only the objects.

A family is one class registered under a name (`@register_posterior("name")`, `@register_likelihood`),
built from the layer's raw outputs in order: `Family(*outputs)`; the run's config names it (the
`posterior` and `likelihood` fields of betavae.fields). A posterior family must give `sample(noise)` and
`log_prob_per_dim(z)` (or `log_prob(z)`), `mean()` and `params()`; the KL to the prior then falls back to
a Monte-Carlo estimate from the batch's samples unless the family has a closed form.

Shapes: a posterior or likelihood holds parameters [batch, dim]; z and x may carry leading sample axes
[..., batch, dim]; log-densities are summed over the last axis. Noise is always standard normal of the
shape of a sample (the Trainer's stateless draws), so that every family is reparameterised alike.

It imports nothing of the model but the layers' head split, so vae.py, objectives.py and tc.py all import it
without a cycle.
"""
import math

import tensorflow as tf

from betavae.constants import LOG_2PI
from betavae.fields import LIKELIHOOD_FAMILIES, POSTERIOR_FAMILIES
from betavae.model.layers import mean_and_log_scale

POSTERIORS = {}  # name -> posterior family (a class), as the config's `posterior` field names it
LIKELIHOODS = {}  # name -> likelihood family, as the config's `likelihood` field names it


def _registrar(registry, choices, kind):
    """A class decorator under a name: the family joins `registry` and the field's `choices` (fields.py's
    names, read by the flags and config.json without TensorFlow)."""
    def register(name):
        def add(cls):
            if registry.get(name, cls) is not cls:
                raise ValueError(f"{kind} family {name!r} is registered already")
            cls.name = name
            registry[name] = cls
            choices.setdefault(name, (cls.__doc__ or name).split("\n")[0])
            return cls
        return add
    return register


def unregister(name):
    """Take the posterior or likelihood family `name` out of its registry and its field's choices (for a
    family that was registered for a while, e.g. by a test)."""
    for registry, choices in ((POSTERIORS, POSTERIOR_FAMILIES), (LIKELIHOODS, LIKELIHOOD_FAMILIES)):
        if registry.pop(name, None) is not None:
            choices.pop(name, None)


register_posterior = _registrar(POSTERIORS, POSTERIOR_FAMILIES, "posterior")
register_likelihood = _registrar(LIKELIHOODS, LIKELIHOOD_FAMILIES, "likelihood")


def _family(registry, kind, name):
    if name not in registry:
        raise ValueError(f"{kind} must be one of {', '.join(registry)}, got {name!r}")
    return registry[name]


def posterior_family(name):
    """The posterior family registered as `name`; a ValueError naming the known ones otherwise."""
    return _family(POSTERIORS, "posterior", name)


def likelihood_family(name):
    """The likelihood family registered as `name`; a ValueError naming the known ones otherwise."""
    return _family(LIKELIHOODS, "likelihood", name)


def _sample_mean(values):
    """The mean over every axis of values [..., batch] but the last: over the draws of each row."""
    return tf.reduce_mean(values, axis=list(range(values.shape.rank - 1)))


def expectation(values, log_draw_weights=None):
    """E_q of a quantity from its values at the draws of Posterior.weighted_sample, [draws, batch] -> [batch]:
    their mean (log_draw_weights None: equal weights), or their sum weighted by exp(log_draw_weights)."""
    if log_draw_weights is None:
        return tf.reduce_mean(values, axis=0)
    return tf.reduce_sum(tf.exp(log_draw_weights) * values, axis=0)


def _normal_log_prob_per_dim(x, mean, log_scale):
    """log N(x; mean, exp(log_scale)^2) element by element."""
    return -0.5 * (tf.square((x - mean) * tf.exp(-log_scale)) + LOG_2PI) - log_scale


def _normal_log_prob(x, mean, log_scale):
    """log N(x; mean, diag exp(log_scale)^2), summed over the last axis."""
    standardized = (x - mean) * tf.exp(-log_scale)
    return -0.5 * tf.reduce_sum(tf.square(standardized) + 2.0 * log_scale + LOG_2PI, axis=-1)


def _normal_kl_terms(mean, log_scale):
    """2 KL(N(mean, exp(log_scale)^2) || N(0, 1)) element by element (Kingma & Welling 2013, appendix B)."""
    return tf.square(mean) + tf.exp(2.0 * log_scale) - 1.0 - 2.0 * log_scale


def gaussian_kl(mean, log_scale):
    """KL(N(mean, diag exp(log_scale)^2) || N(0, I)) per row, summed over the last axis (closed form)."""
    return 0.5 * tf.reduce_sum(_normal_kl_terms(mean, log_scale), axis=-1)


def gaussian_log_density(x, mean, log_scale):
    """log N(x; mean, diag exp(log_scale)^2), summed over the last axis."""
    return _normal_log_prob(x, mean, log_scale)


class StandardNormal:
    """The prior p(z) = N(0, I)."""

    @staticmethod
    def log_prob(z):
        """log N(z; 0, I), summed over the last axis: [...] for z [..., dim]."""
        return -0.5 * tf.reduce_sum(tf.square(z) + LOG_2PI, axis=-1)

    @staticmethod
    def log_prob_per_dim(z):
        """log N(z_j; 0, 1) element by element."""
        return -0.5 * (tf.square(z) + LOG_2PI)

    @staticmethod
    def sample(noise):
        """z ~ N(0, I) from standard normal noise: the noise itself."""
        return noise


PRIOR = StandardNormal()


class Distribution:
    """A distribution of a batch of rows, built from the layer's raw parameters in order (parameter_names)."""

    name = None  # set by the registration
    parameter_names = ()  # the raw parameters, in the order the layer gives them and params() names them

    def __init__(self, *parameters):
        if len(parameters) != len(self.parameter_names):
            raise ValueError(f"{self.name}: expected the parameters {', '.join(self.parameter_names)}, got "
                             f"{len(parameters)}")
        self.parameters = parameters

    def params(self):
        """The family's parameters by name (a dict of tensors, in parameter_names' order): for a posterior,
        what `--mode encode --with-scale` writes and the SavedModel's encode returns."""
        return dict(zip(self.parameter_names, self.parameters))


class Posterior(Distribution):
    """q(z|x) of a batch of rows. A family subclasses it, registered with @register_posterior(name)."""

    has_closed_form_kl = False  # kl_to_prior needs no samples

    @classmethod
    def head_units(cls, latent_dim, **sizes):
        """The size of the encoder's head that gives this family's raw parameters for a latent_dim latent
        (sizes: the settings that size one family, each read by its own: `components`, a mixture's count,
        `flow_steps`, a flow's)."""
        return 2 * latent_dim

    @classmethod
    def split_head(cls, head, latent_dim):
        """The raw parameters in parameter_names' order from the encoder's head [batch, head_units]: here
        its two halves, the second a log-scale (soft-clamped)."""
        return mean_and_log_scale(head)

    def sample(self, noise):
        """Reparameterised draws z [..., batch, dim] from standard normal noise of that shape."""
        raise NotImplementedError

    def weighted_sample(self, noise):
        """The draws that estimate expectations under q in training, from noise [draws, batch, dim], and the
        log of each draw's weight, [draws', batch] (None: equal weights, a mean): here sample(noise), equally
        weighted; a family whose draws are not all alike (a mixture's per component) weights them."""
        return self.sample(noise), None

    def log_prob_per_dim(self, z):
        """log q(z_j|x) per latent dimension, [..., batch, dim], for a family that factorises over them. z
        broadcasts against the parameters [batch, dim] as numpy does: z [..., B, 1, dim] gives each sample
        under every row's posterior, [..., B, batch, dim] (the beta-TCVAE's pairs)."""
        raise NotImplementedError(f"posterior {self.name}: no per-dimension log-density")

    def log_prob(self, z):
        """log q(z|x) summed over the latent dimensions: [..., batch] for z [..., batch, dim]."""
        return tf.reduce_sum(self.log_prob_per_dim(z), axis=-1)

    def stopped(self):
        """The same q(z|x) with its parameters held constant for gradients: its log-density then carries a
        gradient only through z, the path derivative of the doubly reparameterised estimator (Tucker et al.
        2019, eq. 5; Roeder et al. 2017)."""
        return type(self)(*(tf.stop_gradient(parameter) for parameter in self.parameters))

    def kl_to_prior(self, samples=None, log_draw_weights=None):
        """KL(q(z|x) || N(0, I)) per row, [batch]: here the Monte-Carlo estimate E[log q(z|x) - log p(z)]
        over samples [..., batch, dim] of q (averaged over their leading axes, or over the draws of
        weighted_sample with their weights); a family with a closed form overrides it and ignores the samples."""
        if samples is None:
            raise ValueError(f"posterior {self.name}: no closed-form KL; give samples of q(z|x)")
        difference = self.log_prob(samples) - PRIOR.log_prob(samples)
        return _sample_mean(difference) if log_draw_weights is None else expectation(difference, log_draw_weights)

    def kl_to_prior_per_dim(self, samples=None):
        """KL(q(z_j|x) || N(0, 1)) of each latent dimension j, [batch, dim]: here the Monte-Carlo estimate
        from samples [..., batch, dim] of q (for a factorised family)."""
        if samples is None:
            raise ValueError(f"posterior {self.name}: no closed-form KL per dimension; give samples of q(z|x)")
        difference = self.log_prob_per_dim(samples) - PRIOR.log_prob_per_dim(samples)
        return tf.reduce_mean(difference, axis=list(range(difference.shape.rank - 2)))

    def kl_per_dim_from(self, noise):
        """KL(q(z_j|x) || N(0, 1)) per row and dimension, [batch, dim], for what comes after training: the
        closed form where the family has one (noise unused), else the Monte-Carlo estimate over the draws
        sample(noise), noise [draws, batch, dim] standard normal."""
        return self.kl_to_prior_per_dim() if self.has_closed_form_kl else self.kl_to_prior_per_dim(self.sample(noise))

    def mean(self):
        """E_q[z], [batch, dim]: the code of a row."""
        raise NotImplementedError

    @classmethod
    def code_columns(cls, name, width, latent_dim):
        """The names of the columns of parameter `name` (width of them) in --mode encode's output: z1..zk for
        the mean, <name>_z1..<name>_zk for any other (log_scale_z1, ...)."""
        return tuple(f"{'' if name == 'mean' else name + '_'}z{j + 1}" for j in range(width))

    @classmethod
    def diagonal_gaussians(cls, params):
        """(means, log-scales) of the diagonal Gaussians that rows' posteriors are, from params (numpy arrays
        by name, as params() gives them), for the numpy split of the KL over rows
        (betavae.scoring.kl_decomposition); None for a family that is no diagonal Gaussian."""
        return None


@register_posterior("diagonal_gaussian")
class DiagonalGaussian(Posterior):
    """N(mean, diag exp(log_scale)^2): the encoder's (mean, log sigma), each [batch, dim]."""

    has_closed_form_kl = True
    parameter_names = ("mean", "log_scale")

    def __init__(self, mean, log_scale):
        super().__init__(mean, log_scale)
        self.loc, self.log_scale = mean, log_scale

    def sample(self, noise):
        return self.loc + tf.exp(self.log_scale) * noise

    def log_prob_per_dim(self, z):
        return _normal_log_prob_per_dim(z, self.loc, self.log_scale)

    def log_prob(self, z):
        return _normal_log_prob(z, self.loc, self.log_scale)

    def kl_to_prior(self, samples=None, log_draw_weights=None):
        return gaussian_kl(self.loc, self.log_scale)

    def kl_to_prior_per_dim(self, samples=None):
        return 0.5 * _normal_kl_terms(self.loc, self.log_scale)

    def mean(self):
        return self.loc

    @classmethod
    def diagonal_gaussians(cls, params):
        return params["mean"], params["log_scale"]


@register_posterior("mixture")
class DiagonalGaussianMixture(Posterior):
    """sum_c pi_c N(mean_c, diag exp(log_scale_c)^2): --components diagonal Gaussians, pi = softmax(logits).

    Parameters: logits [batch, C], mean and log_scale [batch, C, dim]. Training estimates expectations by the
    stratified estimator (Roeder et al. 2017, sec. 5; Morningstar et al. 2021, SIWAE): each noise draw gives
    one reparameterised draw of every component, weighted by pi_c, so that E_q f = sum_c pi_c E_{q_c} f carries
    gradients to the weights, the means and the scales alike (weighted_sample). sample() gives exact draws of
    q (for what comes after training): the first noise coordinate's uniform Phi(noise) picks the component
    and, rescaled within its component's share, gives that coordinate's standard normal again. The KL to the
    prior has no closed form: Monte Carlo. Not factorised over the latent dimensions: log_prob_per_dim is the
    log-density of each dimension's marginal (a 1-D mixture), whose sum is not log_prob."""

    parameter_names = ("logits", "mean", "log_scale")

    def __init__(self, logits, mean, log_scale):
        super().__init__(logits, mean, log_scale)
        self.logits, self.loc, self.log_scale = logits, mean, log_scale
        self.log_weights = tf.nn.log_softmax(logits, axis=-1)

    @classmethod
    def head_units(cls, latent_dim, components, **sizes):
        return components * (1 + 2 * latent_dim)

    @classmethod
    def split_head(cls, head, latent_dim):
        components = head.shape[-1] // (1 + 2 * latent_dim)
        logits, rest = tf.split(head, [components, 2 * components * latent_dim], axis=-1)
        mean, log_scale = mean_and_log_scale(tf.reshape(rest, [-1, components, 2 * latent_dim]))
        return logits, mean, log_scale

    def _components_log_prob_per_dim(self, z):
        """log N(z_j; mean_cj, scale_cj) of every component, [..., batch, C, dim] for z [..., batch, dim]."""
        return _normal_log_prob_per_dim(z[..., None, :], self.loc, self.log_scale)

    def log_prob(self, z):
        per_component = tf.reduce_sum(self._components_log_prob_per_dim(z), axis=-1)
        return tf.reduce_logsumexp(self.log_weights + per_component, axis=-1)

    def log_prob_per_dim(self, z):
        return tf.reduce_logsumexp(self.log_weights[..., None] + self._components_log_prob_per_dim(z), axis=-2)

    def mean(self):
        return tf.reduce_sum(tf.exp(self.log_weights)[..., None] * self.loc, axis=-2)

    def weighted_sample(self, noise):
        """Noise [S, batch, dim] -> the draws mean_c + scale_c * noise of every component c, [C * S, batch, dim]
        (component-major), each weighted pi_c / S."""
        draws = self.loc + tf.exp(self.log_scale) * noise[..., None, :]  # [S, batch, C, dim]
        shape = tf.shape(draws)
        z = tf.reshape(tf.transpose(draws, [2, 0, 1, 3]), [-1, shape[1], shape[3]])
        per_component = tf.transpose(self.log_weights)[:, None, :] - tf.math.log(tf.cast(shape[0], tf.float32))
        return z, tf.reshape(tf.broadcast_to(per_component, [shape[2], shape[0], shape[1]]), [-1, shape[1]])

    def sample(self, noise):
        uniform = 0.5 * tf.math.erfc(-noise[..., 0] / math.sqrt(2.0))  # Phi(noise_0), [..., batch]
        upper = tf.math.cumsum(tf.exp(self.log_weights), axis=-1)  # [batch, C]
        components = upper.shape[-1]
        chosen = tf.one_hot(tf.minimum(tf.reduce_sum(tf.cast(uniform[..., None] > upper, tf.int32), axis=-1),
                                       components - 1), components)  # [..., batch, C]
        share = tf.reduce_sum(chosen * tf.exp(self.log_weights), axis=-1)
        within = (uniform - tf.reduce_sum(chosen * upper, axis=-1) + share) / share
        first = tf.math.ndtri(tf.clip_by_value(within, 1e-7, 1.0 - 1e-7))
        redrawn = tf.concat([first[..., None], noise[..., 1:]], axis=-1)
        pick = lambda values: tf.reduce_sum(chosen[..., None] * values, axis=-2)  # noqa: E731
        return pick(self.loc) + tf.exp(pick(self.log_scale)) * redrawn

    def params(self):
        """The weights' logits [batch, C], and the components' means and log-scales flattened component by
        component, [batch, C * dim] each (the columns of --mode encode --with-scale)."""
        flat = lambda values: tf.reshape(values, [-1, values.shape[-2] * values.shape[-1]])  # noqa: E731
        return {"logits": self.logits, "mean": flat(self.loc), "log_scale": flat(self.log_scale)}

    @classmethod
    def code_columns(cls, name, width, latent_dim):
        if name == "logits":
            return tuple(f"logit_c{c + 1}" for c in range(width))
        return tuple(f"{name}_c{c + 1}_z{j + 1}" for c in range(width // latent_dim) for j in range(latent_dim))


class Likelihood(Distribution):
    """p(x|z) of a batch of latent rows (in the data's units). A family subclasses it, registered with
    @register_likelihood(name)."""

    def log_prob(self, x):
        """log p(x|z) summed over the data dimensions: [..., batch] for parameters [..., batch, dim]."""
        raise NotImplementedError

    def mean(self):
        """E[x|z], [..., batch, dim]."""
        raise NotImplementedError

    def sample(self, noise):
        """Draws of x from standard normal noise of the mean's shape."""
        raise NotImplementedError


@register_likelihood("gaussian")
class GaussianLikelihood(Likelihood):
    """N(mean, diag exp(log_scale)^2): the decoder's mean and log-scale in the data's units."""

    parameter_names = ("mean", "log_scale")

    def __init__(self, mean, log_scale):
        super().__init__(mean, log_scale)
        self.loc, self.log_scale = mean, log_scale

    def log_prob(self, x):
        return _normal_log_prob(x, self.loc, self.log_scale)

    def mean(self):
        return self.loc

    def sample(self, noise):
        return self.loc + tf.exp(self.log_scale) * noise


# The flow posterior lives in its own module, which imports this one: imported last, it registers "flow".
from betavae.model import flow  # noqa: E402,F401
