"""Batches of generated data with one true factor held fixed, for the FactorVAE score (Kim & Mnih 2018):
the data's own generator, x = g(z) + e, read from its truth JSON. Numpy only; the caller encodes the rows."""
import numpy as np

from betavae.data.families import decoder_mean


def independent_factors_problem(truth):
    """Why the truth's factors cannot be fixed one at a time (None when they can): the FactorVAE score
    needs independent factors, which a single isotropic Gaussian prior gives and a mixture does not."""
    weights = truth.get("prior_weights", [1.0])
    if len(weights) != 1 or np.any(np.asarray(truth.get("prior_means", [[0.0]]), dtype=float) != 0):
        return "the true factors are not independent (a mixture prior), so none can be fixed on its own"
    return None


def fixed_factor_sampler(truth, encode):
    """A sampler(factor, batch_size, rng) -> codes [batch_size, d]: z drawn from the prior with z_factor set
    to one value (itself a prior draw) for the whole batch, x = g(z) + e, and encode(x) (the encoder means).
    For a truth whose factors are independent (see independent_factors_problem)."""
    psi = np.sqrt(np.asarray(truth["psi"], dtype=float))
    scale = float(np.asarray(truth.get("prior_scales", [1.0]), dtype=float)[0])

    def sample(factor, batch_size, rng):
        latent = int(np.asarray(truth.get("A", truth.get("W"))).shape[1])
        z = scale * rng.standard_normal((batch_size, latent))
        z[:, factor] = scale * rng.standard_normal()
        x = decoder_mean(z, truth) + rng.standard_normal((batch_size, len(psi))) * psi
        return np.asarray(encode(x.astype(np.float32)), dtype=float)

    return sample
