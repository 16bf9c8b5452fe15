"""log p(x) = integral of N(x; m(z), diag v(z)) p(z) dz by the trapezoid rule on a tensor grid over a 1-D or
2-D latent: the truth of generated data and a trained decoder are integrated alike.

The grid covers the prior and does not depend on any encoder, so the answer holds for a posterior p(z|x) of
any shape (several modes included), where an estimate centred on q(z|x) (importance sampling, Gauss-Hermite
around q) sees only the mass near q. The rule is spectrally accurate for a smooth integrand: one grid point
per standard deviation of the narrowest posterior makes it exact to round-off (grid_step). Pure numpy.
"""
import numpy as np

from betavae.constants import LOG_2PI

PRIOR_REACH = 6.0  # a grid spans each prior component's mean +- this many of its scales
MAX_TERMS = 1 << 22  # (row, grid point) terms held at once by log_density_on_grid


def tensor_grid(low, high, spacing):
    """The points [n, k] of a tensor grid with the given spacing from low up to high (each of length k): the
    whole steps that fit, so a grid never reaches past high (as np.arange's rounding can)."""
    return product_grid([lo + spacing * np.arange(int(np.floor((hi - lo) / spacing + 1e-9)) + 1)
                         for lo, hi in zip(low, high)])


def product_grid(axes):
    """The points [n, k] of the tensor product of k axes (1-D arrays of coordinates)."""
    return np.stack([grid.ravel() for grid in np.meshgrid(*axes, indexing="ij")], axis=-1)


def grid_step(jacobian, inverse_variances, prior_precision, cells_per_scale=1.0, scale_jacobian=None):
    """The grid step: the narrowest posterior standard deviation, 1 / sqrt(largest eigenvalue of the Fisher
    information J' diag(1 / v) J (+ 2 S' S when the log-scales vary with z, S [n, D, k] their Jacobian) plus
    the prior precision) over the points where J [n, D, k] and 1 / v ([D] or [n, D]) were taken, divided by
    cells_per_scale (the Laplace width of p(z|x) for a row x near g(z))."""
    inverse_variances = np.broadcast_to(inverse_variances, jacobian.shape[:2])
    precision = np.einsum("ndk,nd,ndl->nkl", jacobian, inverse_variances, jacobian)
    if scale_jacobian is not None:
        precision += 2.0 * np.einsum("ndk,ndl->nkl", scale_jacobian, scale_jacobian)
    largest = np.linalg.eigvalsh(precision)[:, -1] + prior_precision
    return float(1.0 / np.sqrt(largest.max()) / cells_per_scale)


def log_density_on_grid(x, means, variances, log_weights):
    """log sum_g exp(log_weights[g]) N(x; means[g], diag variances[g]) for each row of x [n, D], in float64:
    means [G, D], variances [G, D] or [D] (one for every point), log_weights [G] (the log prior times the
    cell volume, for the trapezoid rule). Rows go in chunks of MAX_TERMS (row, point) terms."""
    means = np.asarray(means, dtype=float)
    centre = means.mean(axis=0)  # the expansion below loses precision with |x| / sqrt(v) unless centred
    x, means = np.atleast_2d(np.asarray(x, dtype=float)) - centre, means - centre
    inverse = 1.0 / np.broadcast_to(np.asarray(variances, dtype=float), means.shape)
    log_normaliser = -0.5 * np.sum(LOG_2PI - np.log(inverse), axis=1)
    # log N(x; m, v) = log_normaliser - x^2 / 2v + x m / v - m^2 / 2v, summed over dimensions: one product
    constant = np.asarray(log_weights, dtype=float) + log_normaliser - 0.5 * np.sum(means ** 2 * inverse, axis=1)
    coefficients = np.concatenate([-0.5 * inverse, means * inverse], axis=1).T
    result = np.empty(len(x))
    chunk_rows = max(1, MAX_TERMS // len(means))
    for start in range(0, len(x), chunk_rows):
        rows = x[start:start + chunk_rows]
        terms = np.concatenate([rows ** 2, rows], axis=1) @ coefficients
        terms += constant
        top = terms.max(axis=1, keepdims=True)
        terms -= top
        # exp of values <= 0 in float32 (half the time of float64's), summed in float64: error ~1e-7 of log p
        result[start:start + chunk_rows] = top[:, 0] + np.log(np.exp(terms.astype(np.float32)).sum(axis=1,
                                                                                                 dtype=float))
    return result
