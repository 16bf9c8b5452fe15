"""Batches of generated data with one true factor held fixed, for the FactorVAE score (Kim & Mnih 2018):
the data's own generator, x = g(z) + e, from its Truth. Numpy only; the caller encodes the rows."""
import numpy as np

from betavae.data.families import decoder_mean


def independent_factors_problem(truth):
    """Why the truth's factors cannot be fixed one at a time (None when they can): the FactorVAE score
    needs independent factors, which a single isotropic Gaussian prior gives and a mixture does not."""
    if len(truth.prior_weights) != 1 or np.any(truth.prior_means != 0):
        return "the true factors are not independent (a mixture prior), so none can be fixed on its own"
    return None


def fixed_factor_sampler(truth, encode):
    """A sampler(factor, batch_size, rng) -> codes [batch_size, d]: z drawn from the prior with z_factor set
    to one value (itself a prior draw) for the whole batch, x = g(z) + e, and encode(x) (the encoder means).
    For a truth whose factors are independent (see independent_factors_problem)."""
    noise_scale = np.sqrt(truth.psi)
    scale = float(truth.prior_scales[0])

    def sample(factor, batch_size, rng):
        z = scale * rng.standard_normal((batch_size, truth.latent_dim))
        z[:, factor] = scale * rng.standard_normal()
        x = decoder_mean(z, truth) + rng.standard_normal((batch_size, len(noise_scale))) * noise_scale
        return np.asarray(encode(x.astype(np.float32)), dtype=float)

    return sample
