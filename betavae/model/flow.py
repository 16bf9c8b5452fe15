"""--posterior flow: q(z|x) a diagonal Gaussian pushed through --flow-steps affine coupling steps (RealNVP,
Dinh et al. 2017), amortised: the encoder's head gives, per row, the base Gaussian's mean and log-scale and
the weights of every step's small conditioner.

z is split into two parts, its first k // 2 coordinates and the rest; step l keeps one part and moves the
other, alternating (even steps keep the first part, odd steps the second):

    moved <- moved * exp(s(kept)) + t(kept),   s = SCALE_BOUND tanh(raw / SCALE_BOUND),
    h = tanh(kept W1 + b1),  raw = h Ws + bs,  t = h Wt + bt,

with COUPLING_UNITS tanh units h and the weights W1, b1, Ws, bs, Wt, bt the row's own. A step has an exact
inverse (moved = (moved' - t(kept)) exp(-s(kept)), kept unchanged) and log-determinant sum s, so log q(z|x)
of any z is exact: log N(z_0; base) - sum over the steps of their log-determinants, z_0 the inverse of z.
All weights zero is the identity: the base Gaussian itself.
"""
import functools

import numpy as np
import tensorflow as tf

from betavae.model.distributions import PRIOR, DiagonalGaussian, Posterior, register_posterior
from betavae.model.flow_layout import COUPLING_UNITS, PIECES, coupling_units, piece_size, step_sizes, step_units
from betavae.model.layers import mean_and_log_scale

SCALE_BOUND = 2.0  # |s| < this: a step scales a moved coordinate by e^-2 to e^2 at most, so training stays stable
MEAN_DRAWS = 32  # mean(): the flowed draws of these fixed standard normal points and of their mirror images
MEAN_SEED = 0xF10  # the seed of those points (numpy's, the same in every graph, compiled or not)


def steps_of(latent_dim, width):
    """The count of steps whose conditioner weights take `width` head units; a ValueError if none does."""
    steps = 0
    while coupling_units(latent_dim, steps) < width:
        steps += 1
    if coupling_units(latent_dim, steps) != width:
        raise ValueError(f"posterior flow: {width} coupling weights fit no count of steps of a {latent_dim}-d latent")
    return steps


@functools.lru_cache(maxsize=None)
def mean_noise(latent_dim):
    """The fixed standard normal points of mean(), [2 * MEAN_DRAWS, 1, latent_dim] float32: MEAN_DRAWS seeded
    draws and their mirror images, so that the estimate is exact for a flow that is affine (no coupling)."""
    half = np.random.default_rng(MEAN_SEED).standard_normal((MEAN_DRAWS, 1, latent_dim))
    return np.concatenate([half, -half]).astype(np.float32)


@register_posterior("flow")
class CouplingFlow(Posterior):
    """a diagonal Gaussian through --flow-steps affine coupling steps, their weights given per row.

    Parameters: base_mean and base_log_scale [batch, dim] (the base Gaussian N(base_mean, diag
    exp(base_log_scale)^2)), coupling [batch, units] (every step's W1, b1, Ws, bs, Wt, bt flattened, step by
    step). log_prob is exact for any z (by the inverse); the KL to the prior is Monte Carlo. mean() is not
    E_q[z] in closed form but its estimate from the flowed draws of 2 * MEAN_DRAWS fixed points (MEAN_DRAWS
    seeded standard normal ones and their mirror images), the same for every row and every call, so a row's
    code depends on the row alone. Not factorised over the latent dimensions: no log_prob_per_dim."""

    parameter_names = ("base_mean", "base_log_scale", "coupling")

    def __init__(self, base_mean, base_log_scale, coupling):
        super().__init__(base_mean, base_log_scale, coupling)
        self.loc, self.log_scale, self.coupling = base_mean, base_log_scale, coupling
        self.base = DiagonalGaussian(base_mean, base_log_scale)
        self.latent_dim = base_mean.shape[-1]
        self.steps = steps_of(self.latent_dim, coupling.shape[-1])

    @classmethod
    def head_units(cls, latent_dim, flow_steps, **sizes):
        return 2 * latent_dim + coupling_units(latent_dim, flow_steps)

    @classmethod
    def split_head(cls, head, latent_dim):
        base, coupling = tf.split(head, [2 * latent_dim, head.shape[-1] - 2 * latent_dim], axis=-1)
        return (*mean_and_log_scale(base), coupling)

    def _weights(self, step):
        """Step `step`'s conditioner weights, per row: W1 [batch, kept, units], ... bt [batch, moved]."""
        start, sizes = coupling_units(self.latent_dim, step), step_sizes(self.latent_dim, step)
        shapes = [shape(*sizes, COUPLING_UNITS) for _, shape in PIECES]
        flat = self.coupling[:, start:start + step_units(self.latent_dim, step)]
        pieces = tf.split(flat, [piece_size(shape) for shape in shapes], axis=-1)
        return [tf.reshape(piece, [-1, *shape]) for piece, shape in zip(pieces, shapes)]

    def _shift_and_log_scale(self, step, kept):
        """t and s of step `step` at the kept part [..., batch, kept]: [..., batch, moved] each."""
        w1, b1, ws, bs, wt, bt = self._weights(step)
        hidden = tf.tanh(tf.reduce_sum(kept[..., :, None] * w1, axis=-2) + b1)
        raw = tf.reduce_sum(hidden[..., :, None] * ws, axis=-2) + bs
        return tf.reduce_sum(hidden[..., :, None] * wt, axis=-2) + bt, SCALE_BOUND * tf.tanh(raw / SCALE_BOUND)

    def _parts(self, z):
        """z [..., dim] as its two parts (the first dim // 2 coordinates and the rest)."""
        first = self.latent_dim // 2
        return tf.split(z, [first, self.latent_dim - first], axis=-1)

    def _coupled(self, z, step, move):
        """Step `step` on z [..., batch, dim], its moved part replaced by move(moved, t, s): (the new z, the
        kept part, s)."""
        first, second = self._parts(z)
        kept, moved = (first, second) if step % 2 == 0 else (second, first)
        shift, log_scale = self._shift_and_log_scale(step, kept)
        moved = move(moved, shift, log_scale)
        return tf.concat([kept, moved] if step % 2 == 0 else [moved, kept], axis=-1), kept, log_scale

    def forward(self, base):
        """Base draws z_0 [..., batch, dim] through the steps: (z, the log-determinant's share of each
        coordinate [..., batch, dim], each step's s added to the coordinates it moves)."""
        z, log_det = base, tf.zeros_like(base)
        for step in range(self.steps):
            z, kept, log_scale = self._coupled(z, step, lambda moved, shift, s: moved * tf.exp(s) + shift)
            shares = [tf.zeros_like(kept), log_scale]
            log_det += tf.concat(shares if step % 2 == 0 else shares[::-1], axis=-1)
        return z, log_det

    def inverse(self, z):
        """z [..., batch, dim] back through the steps: (z_0, the summed log-determinant of the forward map at
        z_0, [..., batch])."""
        log_det = 0.0
        for step in reversed(range(self.steps)):
            z, _, log_scale = self._coupled(z, step, lambda moved, shift, s: (moved - shift) * tf.exp(-s))
            log_det += tf.reduce_sum(log_scale, axis=-1)
        return z, log_det

    def sample(self, noise):
        return self.forward(self.base.sample(noise))[0]

    def log_prob(self, z):
        base, log_det = self.inverse(z)
        return self.base.log_prob(base) - log_det

    def kl_per_dim_from(self, noise):
        """The Monte-Carlo KL split over the coordinates by the change of variables, [batch, dim]: coordinate
        j's share E[log N(z_0j; base_j) - (its log-determinant share) - log N(z_j; 0, 1)] over the draws
        sample(noise). The shares sum to the KL; they are not the KLs of q's marginals (which the flow does
        not give) and one may be negative. For a flow without coupling they are the base Gaussian's KLs."""
        base = self.base.sample(noise)
        z, log_det = self.forward(base)
        shares = self.base.log_prob_per_dim(base) - log_det - PRIOR.log_prob_per_dim(z)
        return tf.reduce_mean(shares, axis=0)

    def mean(self):
        return tf.reduce_mean(self.sample(tf.constant(mean_noise(self.latent_dim), self.loc.dtype)), axis=0)

    @classmethod
    def code_columns(cls, name, width, latent_dim):
        """base_mean_z1.., base_log_scale_z1.., and for the coupling weights step<l>_<piece><i>: step l's W1
        (w1_1..), b1, Ws, bs, Wt, bt, each flattened row-major in its shape (kept x units, units, units x
        moved, moved, units x moved, moved)."""
        if name != "coupling":
            return super().code_columns(name, width, latent_dim)
        return tuple(f"step{step + 1}_{piece}_{i + 1}" for step in range(steps_of(latent_dim, width))
                     for piece, shape in PIECES
                     for i in range(piece_size(shape(*step_sizes(latent_dim, step), COUPLING_UNITS))))
